package main

import (
	"context"

	"github.com/partyledger/partyledger/handlers/commands"
	"github.com/partyledger/partyledger/handlers/httpapi"
	"github.com/partyledger/partyledger/projections"
)

func init() {
	serveFeatures = append(serveFeatures, serveFeature{name: "relationships", start: startRelationships})
}

// relationshipsAPI serves the relationship and diagram routes: commands
// from the service, queries from the read model.
type relationshipsAPI struct {
	*commands.Service
	*projections.ReadModel
}

var _ httpapi.Relationships = relationshipsAPI{}

// startRelationships wires the relationship routes into the API.
func startRelationships(_ context.Context, a *app, api *httpapi.Server) (func() error, error) {
	api.Relationships = relationshipsAPI{Service: a.commands, ReadModel: a.reads}
	return nil, nil
}

package main

import (
	"context"

	"github.com/partyledger/partyledger/handlers/httpapi"
)

func init() {
	serveFeatures = append(serveFeatures, serveFeature{name: "net view warm-up", start: startNetWarm})
}

// startNetWarm reads, in the background, the net view's index of the window
// since the last management review once the read model has caught up (see
// projections.ReadModel.WarmNet), so that the first GET
// /changes?view=net after a start costs a page, not a read of the whole
// window. Stopping cancels it and waits for it.
func startNetWarm(ctx context.Context, a *app, _ *httpapi.Server) (func() error, error) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := a.reads.WarmNet(ctx); err != nil && ctx.Err() == nil {
			a.logger.Warn("net view not warmed", "err", err)
		}
	}()
	return func() error {
		cancel()
		<-done
		return nil
	}, nil
}

package commands_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/sqlite"
	"github.com/partyledger/partyledger/handlers/commands"
	"github.com/partyledger/partyledger/projections"
)

var clock = time.Date(2026, 6, 15, 9, 30, 0, 0, time.UTC)

// MustOpenService opens a real store, read model and service on temporary
// files; the read model follows the store until the test ends.
func MustOpenService(tb testing.TB) (*commands.Service, *sqlite.Store) {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"), sqlite.Options{Synchronous: sqlite.SynchronousNormal})
	if err != nil {
		tb.Fatal(err)
	}
	db, err := sqlite.OpenDB(filepath.Join(dir, "read.db"), sqlite.WithSynchronous(sqlite.SynchronousNormal))
	if err != nil {
		tb.Fatal(err)
	}
	rm, err := projections.Open(ctx, db, store, nil)
	if err != nil {
		tb.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- rm.Run(runCtx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			tb.Errorf("read model stopped: %v", err)
		}
		store.Close()
		db.Close()
	})
	return &commands.Service{Store: store, Reads: rm, Now: func() time.Time { return clock }}, store
}

var meta = domain.Meta{Actor: "alice", Reason: "test"}

func TestObjectiveCommands(t *testing.T) {
	ctx := context.Background()
	svc, store := MustOpenService(t)
	res, err := svc.IdentifyParty(ctx, domain.IdentifyParty{Meta: meta, Name: "Customers", Category: "customer",
		Scope: "external", Influence: 3, Interest: 3})
	if err != nil {
		t.Fatal(err)
	}
	pid := domain.PartyID(res.Stream[len(domain.PartyStreamPrefix):])
	var rids []domain.RequirementID
	for _, title := range []string{"SLA", "Old NDA"} {
		rid := domain.RequirementID(newID(t))
		if _, err := svc.IdentifyRequirement(ctx, domain.IdentifyRequirement{Meta: meta, PartyID: pid, RequirementID: rid,
			Kind: "requirement", Title: title}, nil); err != nil {
			t.Fatal(err)
		}
		rids = append(rids, rid)
	}
	if _, err := svc.RetireRequirement(ctx, domain.RetireRequirement{Meta: meta, PartyID: pid, RequirementID: rids[1]}, nil); err != nil {
		t.Fatal(err)
	}

	// Linked requirements are checked against the register.
	_, err = svc.SetObjective(ctx, domain.SetObjective{Meta: meta, Title: "Availability", Owner: "SRE", Due: "2026-12-31",
		RequirementIDs: []domain.RequirementID{rids[1]}})
	if domain.ErrorCode(err) != domain.EINVALID {
		t.Fatalf("objective linked to a retired requirement: %v", err)
	}
	res, err = svc.SetObjective(ctx, domain.SetObjective{Meta: meta, Title: "Availability", Owner: "SRE", Due: "2026-12-31",
		RequirementIDs: []domain.RequirementID{rids[0]}})
	if err != nil {
		t.Fatal(err)
	}
	oid := domain.ObjectiveID(res.Stream[len(domain.ObjectiveStreamPrefix):])
	if res.Version != 1 || !domain.ValidID(string(oid)) {
		t.Fatalf("set: %+v", res)
	}

	// If-Match on the objective's stream.
	stale := int64(0)
	_, err = svc.DefineKPI(ctx, domain.DefineKPI{Meta: meta, ObjectiveID: oid, Name: "Uptime", Operator: ">=", Target: 99.5,
		Frequency: "monthly"}, &stale)
	var de *domain.Error
	var ce *eventstore.ConflictError
	if domain.ErrorCode(err) != domain.EPRECONDITION || !errors.As(err, &de) || !errors.As(err, &ce) || ce.Actual != 1 {
		t.Fatalf("stale If-Match: %v", err)
	}
	current := int64(1)
	res, err = svc.DefineKPI(ctx, domain.DefineKPI{Meta: meta, ObjectiveID: oid, Name: "Uptime", Operator: ">=", Target: 99.5,
		Frequency: "monthly"}, &current)
	if err != nil || res.Version != 2 {
		t.Fatalf("define KPI: %+v, %v", res, err)
	}
	if _, err := svc.MeasureKPI(ctx, domain.MeasureKPI{Meta: meta, ObjectiveID: oid, KPIID: domain.KPIID(newID(t)),
		Value: 1, MeasuredAt: "2026-06-01"}, nil); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("measure an unknown KPI: %v", err)
	}
	if _, err := svc.ReviseObjective(ctx, domain.ReviseObjective{Meta: meta, ObjectiveID: domain.ObjectiveID(newID(t)),
		Status: ptr("achieved")}, nil); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("revise an unknown objective: %v", err)
	}

	// A communication to an unknown party names the field; nothing is written.
	head, _, _ := store.Head(ctx)
	_, err = svc.SendCommunication(ctx, domain.SendCommunication{Meta: meta, PartyID: domain.PartyID(newID(t)),
		Channel: "email", SentBy: "DPO", Summary: "x"})
	if domain.ErrorCode(err) != domain.EINVALID || !errors.As(err, &de) || len(de.Fields) != 1 || de.Fields[0].Field != "party_id" {
		t.Errorf("unknown party: %v", err)
	}
	if after, _, _ := store.Head(ctx); after != head {
		t.Errorf("a refused command wrote %d events", after-head)
	}

	// A review with outcome retired appends the retirement and the review
	// together, with the periodic_review trigger.
	res, err = svc.ReviewRequirement(ctx, domain.ReviewRequirement{Meta: meta, PartyID: pid, RequirementID: rids[0],
		Outcome: "retired"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Events) != 2 || res.Events[0].Type != domain.EventRequirementRetired || res.Events[1].Type != domain.EventRequirementReviewed ||
		res.Events[1].Trigger != "periodic_review" || res.Events[0].CorrelationID != res.Events[1].CorrelationID {
		t.Errorf("review appended %+v", res.Events)
	}
}

func newID(tb testing.TB) string {
	tb.Helper()
	return uuid.Must(uuid.NewV7()).String()
}

func ptr[T any](v T) *T { return &v }

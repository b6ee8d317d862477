package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/handlers/importer"
	"github.com/partyledger/partyledger/projections"
)

// isXLSX reports whether the register is asked for as a workbook:
// --format xlsx, or an --output ending in .xlsx without --format.
func isXLSX(o outputFlags) bool {
	return o.format == "xlsx" || (o.format == "" && strings.EqualFold(filepath.Ext(o.output), ".xlsx"))
}

// writeRegisterXLSX writes the parties ps (the register as of at, in its
// order and filtered) as the importer's workbook, each party folded from
// the log up to the same moment.
func writeRegisterXLSX(ctx context.Context, store eventstore.Store, at projections.AsOf, upTo int64,
	ps []projections.PartyView, o outputFlags, stdout io.Writer) error {
	if o.output == "" && isTerminal(stdout) {
		return errors.New("--format xlsx writes a binary workbook: give --output FILE.xlsx or redirect stdout")
	}
	folded := map[string]*domain.Party{}
	for _, p := range ps {
		folded[domain.PartyID(p.ID).Stream()] = &domain.Party{}
	}
	const batch = 1000
	for after := int64(0); after < upTo; {
		evs, err := store.ReadAll(ctx, after, batch)
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			break
		}
		for _, ev := range evs {
			after = ev.Position
			if ev.Position > upTo || (!at.Time.IsZero() && ev.Time.After(at.Time)) {
				continue
			}
			p, ok := folded[ev.Stream]
			if !ok {
				continue
			}
			de, err := domain.Decode(ev.Type, ev.Schema, ev.Data)
			if err != nil {
				return fmt.Errorf("fold %s at version %d: %w", ev.Stream, ev.Version, err)
			}
			p.Apply(de)
		}
	}
	parties := make([]*domain.Party, 0, len(ps))
	for _, p := range ps {
		parties = append(parties, folded[domain.PartyID(p.ID).Stream()])
	}
	w := stdout
	if o.output != "" {
		f, err := os.Create(o.output)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	now := at.Time
	if now.IsZero() {
		now = time.Now().UTC()
	}
	if err := importer.WriteXLSX(w, parties, now); err != nil {
		return err
	}
	if f, ok := w.(*os.File); ok && w != stdout {
		return f.Close()
	}
	return nil
}

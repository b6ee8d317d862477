package httpapi

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/partyledger/partyledger/projections"
)

// pagedReads serves the register from a slice in register order through
// the real paging function, counting the reads and the largest page asked.
type pagedReads struct {
	ReadModel
	ps           []projections.PartyView
	calls, limit int
}

func (r *pagedReads) EachRegisterParty(_ context.Context, _ projections.PartyFilter, pg projections.Page, fn func(projections.PartyView) error) (projections.Cursor, error) {
	r.calls++
	r.limit = max(r.limit, pg.Limit)
	page, next := projections.PageRegister(r.ps, pg)
	for _, p := range page {
		if err := fn(p); err != nil {
			return projections.Cursor{}, err
		}
	}
	return next, nil
}

// TestRegisterCSVInChunks checks that the CSV export is the whole register,
// every party once and in order, read a bounded chunk at a time.
func TestRegisterCSVInChunks(t *testing.T) {
	defer func(n int) { registerChunk = n }(registerChunk)
	registerChunk = 3
	reads := &pagedReads{}
	for i := range 10 {
		reads.ps = append(reads.ps, projections.PartyView{ID: fmt.Sprintf("id-%02d", i),
			Name: "party " + string(rune('a'+i)), Scope: "external", Status: "active"})
	}
	s := &Server{Reads: reads, Tokens: oneToken{}}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/register?format=csv", nil)
	req.Header.Set("Authorization", "Bearer plt_test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	if len(rows) != 11 {
		t.Fatalf("%d rows, want header + 10", len(rows))
	}
	for i, row := range rows[1:] {
		if want := fmt.Sprintf("id-%02d", i); row[0] != want {
			t.Fatalf("row %d is %s, want %s", i+1, row[0], want)
		}
	}
	if reads.calls != 4 || reads.limit != 3 {
		t.Fatalf("%d reads of at most %d parties, want 4 of 3", reads.calls, reads.limit)
	}
}

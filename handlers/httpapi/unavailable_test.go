package httpapi

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/partyledger/partyledger/handlers/commands"
)

// TestReadModelBehindIs503: a command whose wait for the read model passed
// its deadline answers 503 with Retry-After, not a hang or a 500.
func TestReadModelBehindIs503(t *testing.T) {
	s := &Server{}
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/api/v1/parties", nil)
	s.writeError(w, r, fmt.Errorf("append party-x: stored at position 7, but %w", commands.ErrReadModelBehind))
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", w.Code)
	}
	if got := w.Header().Get("Retry-After"); got == "" {
		t.Error("no Retry-After")
	}
}

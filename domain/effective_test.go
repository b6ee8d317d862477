package domain

import (
	"errors"
	"testing"
	"time"
)

func TestMetaCheckEffectiveOn(t *testing.T) {
	now := time.Date(2026, 3, 20, 23, 30, 0, 0, time.FixedZone("UTC-2", -2*3600)) // 2026-03-21 01:30 UTC
	for _, tt := range []struct {
		on string
		ok bool
	}{
		{"", true}, {"2026-03-21", true}, {"2025-12-31", true}, {"1999-01-01", true},
		{"2026-03-22", false}, {"2026-02-29", false}, {"2026-3-01", false}, {"21/03/2026", false},
		{"2026-03-21T00:00:00Z", false}, {" 2026-03-01", false},
	} {
		err := Meta{Actor: "a", EffectiveOn: tt.on}.CheckEffectiveOn(now)
		if tt.ok {
			if err != nil {
				t.Errorf("%q: %v, want accepted", tt.on, err)
			}
			continue
		}
		var de *Error
		if !errors.As(err, &de) || de.Code != EINVALID || len(de.Fields) != 1 || de.Fields[0].Field != "effective_on" {
			t.Errorf("%q: err = %v, want EINVALID naming effective_on", tt.on, err)
		}
	}
}

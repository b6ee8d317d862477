package webhooks_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/partyledger/partyledger/handlers/webhooks"
)

// TestSignKnownAnswer checks Sign against the Standard Webhooks
// specification's reference vector (from its reference libraries' tests).
func TestSignKnownAnswer(t *testing.T) {
	const (
		secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		id     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		want   = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	ts := time.Unix(1614265330, 0)
	body := []byte(`{"test": 2432232314}`)
	got, err := webhooks.Sign(secret, id, ts, body)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	// The prefix is optional for the key.
	if got2, _ := webhooks.Sign(strings.TrimPrefix(secret, "whsec_"), id, ts, body); got2 != want {
		t.Fatalf("Sign without prefix = %s, want %s", got2, want)
	}
	h := http.Header{}
	h.Set(webhooks.HeaderID, id)
	h.Set(webhooks.HeaderTimestamp, "1614265330")
	h.Set(webhooks.HeaderSignature, "v1,bm90IGl0 "+want) // a rotated-out signature first
	if err := webhooks.Verify(secret, h, body, ts.Add(time.Minute), 5*time.Minute); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	for name, mutate := range map[string]func(h http.Header, b []byte) ([]byte, time.Time){
		"body changed":  func(h http.Header, b []byte) ([]byte, time.Time) { return []byte(`{"test": 2432232315}`), ts },
		"id changed":    func(h http.Header, b []byte) ([]byte, time.Time) { h.Set(webhooks.HeaderID, "msg_x"); return b, ts },
		"timestamp old": func(h http.Header, b []byte) ([]byte, time.Time) { return b, ts.Add(6 * time.Minute) },
		"no signature":  func(h http.Header, b []byte) ([]byte, time.Time) { h.Del(webhooks.HeaderSignature); return b, ts },
		"wrong version": func(h http.Header, b []byte) ([]byte, time.Time) {
			h.Set(webhooks.HeaderSignature, "v2,"+want[3:])
			return b, ts
		},
		"timestamp edit": func(h http.Header, b []byte) ([]byte, time.Time) {
			h.Set(webhooks.HeaderTimestamp, "1614265331")
			return b, ts
		},
	} {
		hh := h.Clone()
		b, now := mutate(hh, body)
		if err := webhooks.Verify(secret, hh, b, now, 5*time.Minute); !errors.Is(err, webhooks.ErrBadSignature) {
			t.Errorf("%s: Verify = %v, want ErrBadSignature", name, err)
		}
	}
}

func TestNewSecret(t *testing.T) {
	a, err := webhooks.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := webhooks.NewSecret()
	if !strings.HasPrefix(a, "whsec_") || a == b || len(a) != len("whsec_")+44 {
		t.Fatalf("secrets %q, %q", a, b)
	}
	sig, err := webhooks.Sign(a, "x", time.Unix(1, 0), nil)
	if err != nil || !strings.HasPrefix(sig, "v1,") {
		t.Fatalf("Sign with a new secret: %q, %v", sig, err)
	}
	if _, err := webhooks.Sign("whsec_not base64!", "x", time.Unix(1, 0), nil); err == nil {
		t.Fatal("Sign accepted a malformed secret")
	}
}

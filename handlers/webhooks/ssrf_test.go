package webhooks_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/webhooks"
)

// fakeResolver answers from a table; other names do not resolve.
type fakeResolver map[string][]string

func (r fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	addrs, ok := r[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, a := range addrs {
		out = append(out, netip.MustParseAddr(a))
	}
	return out, nil
}

var dns = fakeResolver{
	"localhost":                {"127.0.0.1", "::1"},
	"evil.example":             {"10.0.0.1"},
	"rebind.example":           {"93.184.216.34", "127.0.0.1"},
	"metadata.google.internal": {"169.254.169.254"},
	"127.0.0.1.nip.io":         {"127.0.0.1"},
	"mapped.example":           {"::ffff:127.0.0.1"},
	"cgnat.example":            {"100.100.100.200"},
	"ula.example":              {"fd12:3456::1"},
	"hooks.example.com":        {"93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"},
}

// TestCheckURLRefusesHostile is the SSRF table: every URL must be refused at
// registration with a field error on "url".
func TestCheckURLRefusesHostile(t *testing.T) {
	g := &webhooks.Guard{Resolver: dns}
	hostile := []string{
		"http://127.0.0.1/",
		"http://127.0.0.1:8080/hook",
		"http://localhost/",
		"http://[::1]/",
		"http://0.0.0.0/",
		"http://[::]/",
		"http://10.0.0.5/",
		"http://172.16.3.4/",
		"http://192.168.1.1/",
		"http://169.254.169.254/latest/meta-data/",
		"http://[fd00:ec2::254]/latest/meta-data/",
		"http://metadata.google.internal/computeMetadata/v1/",
		"http://192.0.0.192/",        // IETF range (Oracle Cloud metadata)
		"http://100.64.0.1/",         // CGNAT
		"http://cgnat.example/",      // resolves into CGNAT
		"http://[::ffff:127.0.0.1]/", // IPv4-mapped
		"http://[::ffff:7f00:1]/",    // IPv4-mapped, hex
		"http://[0:0:0:0:0:ffff:169.254.169.254]/",
		"http://mapped.example/",       // resolves to an IPv4-mapped loopback
		"http://[::127.0.0.1]/",        // IPv4-compatible
		"http://[64:ff9b::7f00:1]/",    // NAT64 of 127.0.0.1
		"http://[64:ff9b:1::a00:1]/",   // local-use NAT64
		"http://[2002:7f00:1::1]/",     // 6to4 of 127.0.0.1
		"http://[2001:0:4136:e378::]/", // Teredo
		"http://2130706433/",           // decimal 127.0.0.1
		"http://0x7f.1/",               // hex, short form
		"http://0x7f000001/",           // hex
		"http://017700000001/",         // octal
		"http://0177.0.0.1/",           // octal dotted
		"http://127.1/",                // short form
		"http://127.000.000.001/",      // zero-padded
		"http://[fe80::1]/",            // link-local
		"http://[fe80::1%25eth0]/",     // zoned
		"http://224.0.0.1/",            // multicast
		"http://[ff02::1]/",            // multicast
		"http://255.255.255.255/",      // broadcast
		"http://198.18.0.1/",           // benchmarking
		"http://evil.example/",         // resolves to private
		"http://rebind.example/",       // one of its addresses is loopback
		"http://127.0.0.1.nip.io/",     // wildcard DNS to loopback
		"http://ula.example/",          // unique local IPv6
		"http://nxdomain.example/",     // cannot be checked
		"ftp://93.184.216.34/",         // scheme
		"file:///etc/passwd",
		"gopher://93.184.216.34:70/",
		"http://user:pass@93.184.216.34/", // credentials
		"http://evil.example@127.0.0.1/",  // userinfo trick
		"http:///nohost",
		"//93.184.216.34/",
		"http://93.184.216.34:0/",
		"http://exa mple.com/",
		"http://" + strings.Repeat("a", webhooks.MaxURLLength) + ".com/",
	}
	if len(hostile) < 15 {
		t.Fatal("the table must have at least 15 rows")
	}
	for _, raw := range hostile {
		_, err := g.CheckURL(context.Background(), raw)
		var de *domain.Error
		if !errors.As(err, &de) || de.Code != domain.EINVALID || len(de.Fields) == 0 || de.Fields[0].Field != "url" {
			t.Errorf("CheckURL(%q) = %v, want an invalid url field error", raw, err)
		}
	}
}

func TestCheckURLAcceptsPublicAndAllowlisted(t *testing.T) {
	g := &webhooks.Guard{Resolver: dns}
	for _, raw := range []string{
		"https://hooks.example.com/partyledger?x=1",
		"http://93.184.216.34:8080/",
		"https://[2606:2800:220:1:248:1893:25c8:1946]/hook",
		"HTTPS://HOOKS.EXAMPLE.COM/",
	} {
		if _, err := g.CheckURL(context.Background(), raw); err != nil {
			t.Errorf("CheckURL(%q) = %v, want nil", raw, err)
		}
	}
	allow, err := webhooks.ParseAllowlist("127.0.0.1/32, 10.1.0.0/16,fd00::1")
	if err != nil {
		t.Fatal(err)
	}
	g.Allow = allow
	for raw, ok := range map[string]bool{
		"http://127.0.0.1:9000/hook": true,
		"http://localhost:9000/":     false, // also resolves to ::1, which is not allowlisted
		"http://10.1.2.3/":           true,
		"http://10.2.0.1/":           false,
		"http://[fd00::1]/":          true,
		"http://127.0.0.2/":          false,
		"http://2130706433/":         false, // odd spellings stay refused
	} {
		_, err := g.CheckURL(context.Background(), raw)
		if (err == nil) != ok {
			t.Errorf("with allowlist: CheckURL(%q) = %v, want ok=%v", raw, err, ok)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "nonsense", "fe80::1%eth0"} {
		if _, err := webhooks.ParseAllowlist(bad); err == nil {
			t.Errorf("ParseAllowlist(%q) accepted", bad)
		}
	}
}

// TestDialRefusesResolvedAddress checks the connect-time guard: whatever a
// name resolved to at registration, the address actually dialled is checked
// (the defence against DNS rebinding), and redirects are not followed.
func TestDialRefusesResolvedAddress(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port

	strict := &webhooks.Guard{}
	client := webhooks.Client(strict.Transport(), webhooks.DefaultTimeout)
	for _, u := range []string{
		srv.URL, // 127.0.0.1 literal
		fmt.Sprintf("http://localhost:%d/", port), // a name the system resolves to loopback
		fmt.Sprintf("http://[::ffff:127.0.0.1]:%d/", port),
	} {
		_, err := client.Get(u)
		if !errors.Is(err, webhooks.ErrForbiddenAddress) {
			t.Errorf("GET %s through the strict guard: %v, want ErrForbiddenAddress", u, err)
		}
	}
	if hits != 0 {
		t.Fatalf("the receiver was reached %d times through the strict guard", hits)
	}

	open := loopbackGuard()
	client = webhooks.Client(open.Transport(), webhooks.DefaultTimeout)
	resp, err := client.Get(srv.URL + "/redirect")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || hits != 1 {
		t.Fatalf("redirect: status %d after %d hits, want 302 after 1 (not followed)", resp.StatusCode, hits)
	}
	if _, err := open.DialContext(context.Background(), "tcp", fmt.Sprintf("127.0.0.2:%d", port)); !errors.Is(err, webhooks.ErrForbiddenAddress) {
		t.Fatalf("dial 127.0.0.2 with 127.0.0.1/32 allowed: %v, want ErrForbiddenAddress", err)
	}
}

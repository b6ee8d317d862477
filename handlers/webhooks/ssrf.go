package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/partyledger/partyledger/domain"
)

// MaxURLLength bounds a subscription URL.
const MaxURLLength = 2048

// ErrForbiddenAddress is returned (wrapped) when a webhook would reach an
// address the [Guard] refuses.
var ErrForbiddenAddress = errors.New("webhooks: address not allowed for webhooks")

// Resolver looks up the addresses of a host name; *net.Resolver implements
// it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Guard keeps webhooks away from internal networks (server-side request
// forgery). The zero value refuses every non-public address; Allow opens
// prefixes for on-premises receivers (and tests). A Guard is safe for
// concurrent use once set up.
type Guard struct {
	// Allow lists prefixes that are permitted even though they are not
	// public (the operator's --webhook-allow).
	Allow []netip.Prefix
	// Resolver resolves host names at registration; nil means
	// net.DefaultResolver. Connections are checked again when dialled.
	Resolver Resolver
}

// blocked are the ranges no webhook may reach unless allowlisted: every
// special-purpose range of the IANA registries that is not globally
// reachable, plus the translation and tunnelling ranges that embed an IPv4
// address (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo), which could
// smuggle any of the former.
var blocked = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",       // "this network", includes the unspecified address
		"10.0.0.0/8",      // private
		"100.64.0.0/10",   // shared address space (CGNAT)
		"127.0.0.0/8",     // loopback
		"169.254.0.0/16",  // link-local, includes the 169.254.169.254 metadata service
		"172.16.0.0/12",   // private
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // documentation
		"192.88.99.0/24",  // 6to4 relay anycast
		"192.168.0.0/16",  // private
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // documentation
		"203.0.113.0/24",  // documentation
		"224.0.0.0/4",     // multicast
		"240.0.0.0/4",     // reserved, includes broadcast
		"::/96",           // unspecified, loopback, IPv4-compatible
		"::ffff:0:0/96",   // IPv4-mapped
		"64:ff9b::/96",    // NAT64
		"64:ff9b:1::/48",  // local-use NAT64
		"100::/64",        // discard-only
		"2001::/23",       // IETF protocol assignments, includes Teredo 2001::/32
		"2001:db8::/32",   // documentation
		"2002::/16",       // 6to4
		"3fff::/20",       // documentation
		"fc00::/7",        // unique local, includes the fd00:ec2::254 metadata service
		"fe80::/10",       // link-local
		"fec0::/10",       // site-local (deprecated)
		"ff00::/8",        // multicast
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// ParseAllowlist parses a comma-separated list of CIDR prefixes or single
// addresses, such as "127.0.0.1/32,10.1.0.0/16,fd00::1".
func ParseAllowlist(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if p, err := netip.ParsePrefix(part); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("webhooks: allowlist entry %q is not a CIDR prefix or an IP address", part)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// CheckAddr returns nil if a webhook may connect to a, and an error matching
// [ErrForbiddenAddress] that says why not otherwise.
func (g *Guard) CheckAddr(a netip.Addr) error {
	if !a.IsValid() {
		return fmt.Errorf("%w: invalid address", ErrForbiddenAddress)
	}
	a = a.WithZone("") // prefixes never contain zoned addresses
	for _, p := range g.Allow {
		if p.Contains(a) || (a.Is4In6() && p.Contains(a.Unmap())) {
			return nil
		}
	}
	for _, p := range blocked {
		if p.Contains(a) {
			return fmt.Errorf("%w: %s, which is %s (%s)", ErrForbiddenAddress, a, describe(a), p)
		}
	}
	if !a.IsGlobalUnicast() {
		return fmt.Errorf("%w: %s, which is not a global unicast address", ErrForbiddenAddress, a)
	}
	return nil
}

// describe names the kind of a refused address for the error message.
func describe(a netip.Addr) string {
	switch {
	case a.Is4In6():
		return "an IPv4-mapped IPv6 range"
	case a.IsLoopback():
		return "loopback"
	case a.IsUnspecified():
		return "unspecified"
	case a.IsPrivate():
		return "private"
	case a.IsLinkLocalUnicast():
		return "link-local (cloud metadata lives here)"
	case a.IsMulticast():
		return "multicast"
	}
	return "not publicly routable"
}

// invalidURL is the registration error for a refused URL.
func invalidURL(format string, args ...any) error {
	return &domain.Error{Code: domain.EINVALID, Message: "the webhook URL is not allowed",
		Fields: []domain.FieldError{{Field: "url", Message: fmt.Sprintf(format, args...)}}}
}

// allowHint ends the message of a refused address.
const allowHint = "; an operator can permit it with serve --webhook-allow"

// CheckURL validates a webhook URL at registration: http or https, a host,
// no credentials, no odd IPv4 spellings (decimal, octal, hex or short forms
// such as http://2130706433/, http://0x7f.1/, http://017700000001/, which
// some resolvers turn into loopback), and every address the host resolves
// to must pass [Guard.CheckAddr]. It returns the parsed URL, or a
// *domain.Error with code EINVALID on the field "url".
func (g *Guard) CheckURL(ctx context.Context, raw string) (*url.URL, error) {
	if raw == "" {
		return nil, invalidURL("is required")
	}
	if len(raw) > MaxURLLength {
		return nil, invalidURL("is longer than %d characters", MaxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, invalidURL("is not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, invalidURL("must be an http or https URL")
	}
	if u.Opaque != "" || u.Host == "" {
		return nil, invalidURL("must name a host, as in https://hooks.example.com/partyledger")
	}
	if u.User != nil {
		return nil, invalidURL("must not contain credentials; the payload is signed instead")
	}
	if p := u.Port(); p != "" {
		if n, err := net.LookupPort("tcp", p); err != nil || n < 1 || n > 65535 {
			return nil, invalidURL("has an invalid port")
		}
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return nil, invalidURL("must not use an IPv6 zone")
		}
		if a.Is4In6() {
			return nil, invalidURL("must not use an IPv4-mapped IPv6 address")
		}
		if err := g.CheckAddr(a); err != nil {
			return nil, invalidURL("points at %s%s", strings.TrimPrefix(err.Error(), ErrForbiddenAddress.Error()+": "), allowHint)
		}
		return u, nil
	}
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	if err := checkHostName(name); err != nil {
		return nil, invalidURL("%s", err)
	}
	r := g.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := r.LookupNetIP(rctx, "ip", name)
	if err != nil || len(addrs) == 0 {
		return nil, invalidURL("host %s does not resolve", name)
	}
	for _, a := range addrs {
		if err := g.CheckAddr(a.Unmap()); err != nil {
			return nil, invalidURL("host %s resolves to %s%s", name, strings.TrimPrefix(err.Error(), ErrForbiddenAddress.Error()+": "), allowHint)
		}
	}
	return u, nil
}

// checkHostName accepts DNS names only. A name whose last label is all
// digits or hex with 0x is an IPv4 address in an odd spelling (inet_aton
// accepts 2130706433, 0x7f.1, 017700000001 and 127.1 for 127.0.0.1), not a
// name: no top-level domain is numeric.
func checkHostName(name string) error {
	if name == "" || len(name) > 253 {
		return errors.New("has no valid host name")
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return errors.New("has an invalid host name")
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return errors.New("has an invalid host name (use punycode for international names)")
			}
		}
	}
	last := labels[len(labels)-1]
	numeric := strings.Trim(last, "0123456789") == ""
	hex := strings.HasPrefix(last, "0x") && strings.Trim(last[2:], "0123456789abcdef") == ""
	if numeric || hex {
		return errors.New("spells an IP address in a non-standard form (decimal, octal, hex or shortened); write the address in dotted-quad or bracketed IPv6 form")
	}
	return nil
}

// control is the net.Dialer hook that checks the address actually being
// dialled, after name resolution: a host that resolved to a public address
// at registration and to loopback now (DNS rebinding) is refused here.
func (g *Guard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse dialled address %q", ErrForbiddenAddress, address)
	}
	return g.CheckAddr(ap.Addr().Unmap())
}

// DialContext dials like net.Dialer but refuses, before connecting, every
// address [Guard.CheckAddr] refuses.
func (g *Guard) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: g.control}
	return d.DialContext(ctx, network, addr)
}

// Transport returns an HTTP transport for webhook deliveries: it dials
// through [Guard.DialContext], ignores proxy environment variables (a proxy
// would be dialled instead of the receiver and bypass the check), and limits
// response headers.
func (g *Guard) Transport() *http.Transport {
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            g.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    2,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ResponseHeaderTimeout:  DefaultTimeout,
		MaxResponseHeaderBytes: 64 << 10,
	}
}

// Client returns an HTTP client on t that gives each request timeout and
// never follows redirects: a 3xx answer is the receiver's answer (and a
// failure), so a redirect cannot lead a webhook to an internal address.
func Client(t http.RoundTripper, timeout time.Duration) *http.Client {
	return &http.Client{
		Transport: t,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

package main

import (
	"fmt"
	"net"
	"net/url"
)

// loopbackOnly refuses a target that is not on this machine's loopback
// interface: plload is for measuring a local server, never for sending load
// anywhere else.
func loopbackOnly(base string) error {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("-url %q: want http://host:port", base)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-url %q: plload only targets loopback addresses (127.0.0.0/8, ::1, localhost)", base)
	}
	return nil
}

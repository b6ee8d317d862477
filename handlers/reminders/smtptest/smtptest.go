// Package smtptest runs a real SMTP server (github.com/emersion/go-smtp) on
// loopback for tests: it keeps the messages it accepts and can be told to
// refuse them, to test retries.
package smtptest

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Received is one message the test SMTP server accepted.
type Received struct {
	From string
	To   []string
	Data string
}

// Server is a real SMTP server (go-smtp) on loopback that keeps what it
// receives. While failing is set it refuses every message with 554, and
// counts the attempts.
type Server struct {
	Addr string

	mu       sync.Mutex
	msgs     []Received
	failing  bool
	attempts int
}

// Messages returns the messages accepted so far.
func (m *Server) Messages() []Received {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Received(nil), m.msgs...)
}

// SetFailing makes the server refuse (true) or accept (false) messages.
func (m *Server) SetFailing(f bool) {
	m.mu.Lock()
	m.failing = f
	m.mu.Unlock()
}

// Attempts counts the messages offered (accepted or refused).
func (m *Server) Attempts() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.attempts
}

// NewSession implements smtp.Backend.
func (m *Server) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{srv: m}, nil }

type session struct {
	srv *Server
	cur Received
}

func (s *session) Reset()        { s.cur = Received{} }
func (s *session) Logout() error { return nil }
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.cur.From = from
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	s.srv.attempts++
	if s.srv.failing {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 3, 0}, Message: "refused by the test"}
	}
	s.cur.Data = string(b)
	s.srv.msgs = append(s.srv.msgs, s.cur)
	return nil
}

// MustStart serves SMTP on 127.0.0.1:0 until the test ends.
func MustStart(tb testing.TB) *Server {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ms := &Server{Addr: ln.Addr().String()}
	srv := smtp.NewServer(ms)
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln) // ends with ErrServerClosed or the closed listener's error

	}()
	tb.Cleanup(func() {
		srv.Close()
		ln.Close() // Serve may not have registered ln yet when Close ran
		<-done
	})
	return ms
}

package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// page is what every template receives.
type page struct {
	Title string
	User  User
	// Nav is the current section, for the navigation's aria-current.
	Nav  string
	Data any
	// Head is the log position the page reflects, for the live
	// "N new changes" notice.
	Head int64
	// SignIn is how one may sign in (the sign-in page's choices).
	SignIn signIn
}

// signIn lists the sign-in methods the console offers.
type signIn struct {
	Token bool   // the API-token field
	OIDC  string // the identity provider's name, "" when there is none
}

func (s *Server) signIn() signIn {
	si := signIn{Token: !s.NoTokenLogin}
	if s.OIDC != nil {
		si.OIDC = s.OIDC.Name
	}
	return si
}

var (
	tmplOnce sync.Once
	tmpls    map[string]*template.Template
	tmplErr  error
	assets   map[string]asset
)

type asset struct {
	body  []byte
	hash  string
	ctype string
}

var assetsOnce sync.Once

func loadAssets() {
	assets = map[string]asset{}
	_ = fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		h := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = "application/octet-stream"
		}
		assets[path.Base(p)] = asset{body: b, hash: hex.EncodeToString(h[:6]), ctype: ct}
		return nil
	})
}

func loadTemplates() {
	assetsOnce.Do(loadAssets)
	tmpls = map[string]*template.Template{}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		tmplErr = err
		return
	}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			tmplErr = fmt.Errorf("console: parse %s: %w", n, err)
			return
		}
		tmpls[base] = t
	}
}

// render writes the named page inside the layout. The page is rendered in
// full before the first byte is sent, so a template failure is an error
// page, not half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) error {
	tmplOnce.Do(loadTemplates)
	if tmplErr != nil {
		return tmplErr
	}
	t, ok := tmpls[name]
	if !ok {
		return fmt.Errorf("console: no template %s", name)
	}
	p := page{Title: title, User: userFrom(r.Context()), Nav: navOf(r.URL.Path), Data: data, SignIn: s.signIn()}
	if p.User.Name != "" && s.Reads != nil {
		p.Head, _ = s.Reads.Checkpoint(r.Context())
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		return fmt.Errorf("console: render %s: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// renderError writes an error page; if even that fails, plain text.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if err := s.render(w, r, status, "error", http.StatusText(status), struct {
		Status int
		Text   string
		Msg    string
	}{status, http.StatusText(status), msg}); err != nil {
		s.logger().Error("console: render error page", "err", err)
		http.Error(w, msg, status)
	}
}

func navOf(p string) string {
	switch {
	case p == "/":
		return "dashboard"
	case strings.HasPrefix(p, "/register"), strings.HasPrefix(p, "/parties"), strings.HasPrefix(p, "/import"):
		return "register"
	case strings.HasPrefix(p, "/changes"):
		return "changes"
	case strings.HasPrefix(p, "/objectives"):
		return "objectives"
	case strings.HasPrefix(p, "/communications"):
		return "communications"
	case strings.HasPrefix(p, "/reviews"):
		return "reviews"
	case strings.HasPrefix(p, "/audit"):
		return "audit"
	case strings.HasPrefix(p, "/diagrams"):
		return "diagrams"
	case strings.HasPrefix(p, "/owners"):
		return "owners"
	}
	return ""
}

// handleStatic serves the embedded assets. A URL with the current content
// hash (?v=, as [assetURL] writes it) may be cached for a year.
func (s *Server) handleStatic(w http.ResponseWriter, r *http.Request) error {
	assetsOnce.Do(loadAssets)
	a, ok := assets[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return nil
	}
	w.Header().Set("Content-Type", a.ctype)
	if r.URL.Query().Get("v") == a.hash {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, a.hash, time.Time{}, bytes.NewReader(a.body))
	return nil
}

// assetURL is the cache-busting address of an embedded asset.
func assetURL(name string) string {
	assetsOnce.Do(loadAssets)
	return "/static/" + name + "?v=" + assets[name].hash
}

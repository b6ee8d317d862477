package report

import (
	"bytes"
	"mime"
	"net/http"
	"strconv"
)

// WriteHTTP renders rep in format f and answers with it as a download:
// the API's GET /api/v1/reports/changes and the console's report links
// answer with the same headers. The whole document is rendered before the
// first byte is written, so a rendering error can still become an error
// response. A HEAD request gets the headers only.
func WriteHTTP(w http.ResponseWriter, r *http.Request, rep *Report, f Format) error {
	var buf bytes.Buffer
	if err := Render(&buf, rep, f); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", f.ContentType())
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": rep.FileName(f)}))
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if f == HTML {
		// The page is standalone: inline styles, nothing to load, nothing to run.
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
	return nil
}

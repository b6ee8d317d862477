package main

import (
	"bytes"
	"context"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/partyledger/partyledger/handlers/httpapi"
	"github.com/partyledger/partyledger/handlers/httpapi/client"
)

// consoleUpload posts a multipart form to the console as a same-origin
// browser would: fields, and the file (when data is not nil).
func consoleUpload(tb testing.TB, c *http.Client, u string, fields map[string]string, filename string, data []byte) (*http.Response, string) {
	tb.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			tb.Fatal(err)
		}
	}
	if data != nil {
		fw, err := mw.CreateFormFile("file", filename)
		if err != nil {
			tb.Fatal(err)
		}
		fw.Write(data)
	}
	mw.Close()
	req, err := http.NewRequest("POST", u, &body)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var hiddenFileData = regexp.MustCompile(`name="file_data" value="([^"]*)"`)

// TestConsoleImport: an editor previews an upload (nothing written), then
// confirms it (written through the same command path); a viewer cannot;
// the register page links the upload page and the XLSX download, whose
// workbook imports with 0 events.
func TestConsoleImport(t *testing.T) {
	ts := MustRunServe(t, "")
	file := mustReadFile(t, filepath.Join(importTestdata, "consultant.xlsx"))

	viewer := consoleClient(t)
	MustSignIn(t, viewer, ts.URL, createToken(t, ts, "viewer-1", "viewer"))
	if resp, _ := consoleDo(t, viewer, "GET", ts.URL+"/import", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer GET /import: %d, want 403", resp.StatusCode)
	}
	if resp, _ := consoleUpload(t, viewer, ts.URL+"/import", map[string]string{"confirm": "yes"}, "consultant.xlsx", file); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer POST /import: %d, want 403", resp.StatusCode)
	}
	if _, body := consoleDo(t, viewer, "GET", ts.URL+"/register", nil); strings.Contains(body, `href="/import"`) || !strings.Contains(body, "/register.xlsx") {
		t.Errorf("viewer's register page: the import link must be hidden and the XLSX download shown")
	}

	c := consoleClient(t)
	MustSignIn(t, c, ts.URL, createToken(t, ts, "alice", "editor"))
	if _, body := consoleDo(t, c, "GET", ts.URL+"/register", nil); !strings.Contains(body, `href="/import"`) {
		t.Errorf("editor's register page has no link to /import")
	}
	resp, body := consoleDo(t, c, "GET", ts.URL+"/import", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `type="file"`) {
		t.Fatalf("GET /import: %d", resp.StatusCode)
	}
	start, startReg := eventCount(t, ts.DB), registerEventCount(t, ts.DB) // the token events
	resp, body = consoleUpload(t, c, ts.URL+"/import", nil, "consultant.xlsx", file)
	if resp.StatusCode != 200 || !strings.Contains(body, "Preview") || !strings.Contains(body, "Data protection authority") {
		t.Fatalf("preview: %d\n%s", resp.StatusCode, body)
	}
	if n := eventCount(t, ts.DB); n != start {
		t.Fatalf("the preview wrote %d events", n-start)
	}
	m := hiddenFileData.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("the preview has no confirm form carrying the file")
	}
	resp, body = consoleUpload(t, c, ts.URL+"/import", map[string]string{"file_data": html.UnescapeString(m[1]),
		"filename": "consultant.xlsx", "confirm": "yes"}, "", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "Imported") {
		t.Fatalf("confirm: %d\n%s", resp.StatusCode, body)
	}
	if n := registerEventCount(t, ts.DB) - startReg; n != 13 {
		t.Fatalf("%d register events after the confirmed import, want 13", n)
	}
	var actor string
	if err := openDBForTest(t, ts.DB).QueryRow(`SELECT actor FROM events WHERE type = 'party.identified' LIMIT 1`).Scan(&actor); err != nil || actor != "alice" {
		t.Errorf("actor %q, %v; want the signed-in token alice", actor, err)
	}

	// A file with errors: 422, the cells listed, no confirm button.
	resp, body = consoleUpload(t, c, ts.URL+"/import", nil, "errors.xlsx", mustReadFile(t, filepath.Join(importTestdata, "errors.xlsx")))
	if resp.StatusCode != http.StatusUnprocessableEntity || hiddenFileData.MatchString(body) || !strings.Contains(body, "Nothing was imported") {
		t.Errorf("errors file: %d, confirm form %v", resp.StatusCode, hiddenFileData.MatchString(body))
	}

	// The register page's XLSX download imports with 0 events.
	req, _ := http.NewRequest("GET", ts.URL+"/register.xlsx", nil)
	dl, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	wb, _ := io.ReadAll(dl.Body)
	dl.Body.Close()
	if dl.StatusCode != 200 || dl.Header.Get("Content-Type") != httpapi.XLSXContentType {
		t.Fatalf("GET /register.xlsx: %d %s", dl.StatusCode, dl.Header.Get("Content-Type"))
	}
	before := eventCount(t, ts.DB)
	p, err := MustImportClient(t, ts).Import(context.Background(), client.ImportRequest{Filename: "register.xlsx", File: wb})
	if err != nil || len(p.Items) != 0 || eventCount(t, ts.DB) != before {
		t.Fatalf("console XLSX → import: %v, items %+v", err, p)
	}
}

package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"time"
)

// ImportRequest is one spreadsheet import (POST /imports).
type ImportRequest struct {
	Filename string // the file's name, as the server reports it (and its default reason)
	File     []byte // .xlsx or .csv content
	Sheet    string // the worksheet; "" = the first with a recognisable header
	Mapping  []byte // JSON mapping of columns and values; nil for none
	Reason   string // "" = "import of <filename>"
	// RetireMissing retires the active records the file does not list.
	RetireMissing bool
	DryRun        bool
	// Progress, when not nil, is called as the upload is sent, with the
	// bytes sent so far and the total.
	Progress func(sent, total int64)
}

// ImportCounts are the counts of one kind of record in an import plan.
type ImportCounts struct {
	Added     int `json:"added"`
	Revised   int `json:"revised"`
	Unchanged int `json:"unchanged"`
	Retired   int `json:"retired,omitempty"`
}

// ImportIssue is one error or warning about the file, with its place.
type ImportIssue struct {
	Sheet   string `json:"sheet"`
	Row     int    `json:"row"`
	Cell    string `json:"cell"`
	Column  string `json:"column"`
	Field   string `json:"field"`
	Value   string `json:"value"`
	Message string `json:"message"`
}

// ImportItem is one planned change.
type ImportItem struct {
	Row         int                        `json:"row"`
	Action      string                     `json:"action"`
	Party       string                     `json:"party"`
	Requirement string                     `json:"requirement,omitempty"`
	Changes     map[string]json.RawMessage `json:"changes,omitempty"`
}

// ImportPlan is the answer of an import: what it adds, revises and leaves
// alone, the file's errors and warnings, and the changes item by item.
type ImportPlan struct {
	DryRun        bool          `json:"dry_run"`
	Parties       ImportCounts  `json:"parties"`
	Requirements  ImportCounts  `json:"requirements"`
	Relationships ImportCounts  `json:"relationships"`
	Errors        []ImportIssue `json:"errors"`
	Warnings      []ImportIssue `json:"warnings"`
	Items         []ImportItem  `json:"items"`
}

// Import uploads a spreadsheet (POST /imports). A file with errors is
// answered 422 with the plan: Import returns the plan and an [*Error] of
// status 422 (code "unprocessable"); nothing was written. Any other
// problem is an [*Error] with a nil plan.
func (c *Client) Import(ctx context.Context, in ImportRequest) (*ImportPlan, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range map[string]string{"sheet": in.Sheet, "mapping": string(in.Mapping), "reason": in.Reason} {
		if v != "" {
			if err := mw.WriteField(k, v); err != nil {
				return nil, err
			}
		}
	}
	if in.RetireMissing {
		if err := mw.WriteField("retire_missing", "true"); err != nil {
			return nil, err
		}
	}
	fw, err := mw.CreateFormFile("file", filepath.Base(in.Filename))
	if err != nil {
		return nil, err
	}
	if _, err := fw.Write(in.File); err != nil {
		return nil, err
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	path := "/imports?dry_run=false"
	if in.DryRun {
		path = "/imports?dry_run=true"
	}
	req, err := c.Request(ctx, http.MethodPost, path, nil)
	if err != nil {
		return nil, err
	}
	total := int64(body.Len())
	var rd io.Reader = &body
	if in.Progress != nil {
		rd = &progressReader{r: &body, total: total, fn: in.Progress}
	}
	req.Body = io.NopCloser(rd)
	req.ContentLength = total
	req.GetBody = nil
	req.Header.Set("Content-Type", mw.FormDataContentType())
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Minute}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		c.notePosition(resp.Header)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusUnprocessableEntity {
		var p ImportPlan
		if json.Unmarshal(raw, &p) == nil && p.Errors != nil {
			return &p, &Error{Status: resp.StatusCode, Code: "unprocessable",
				Detail: fmt.Sprintf("the file has %d errors; nothing was written", len(p.Errors))}
		}
	}
	if resp.StatusCode >= 300 {
		return nil, problem(resp.StatusCode, raw)
	}
	var p ImportPlan
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("POST /imports: decode the answer: %w", err)
	}
	return &p, nil
}

// progressReader reports how much of the body has been read.
type progressReader struct {
	r     io.Reader
	sent  int64
	total int64
	fn    func(sent, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.sent += int64(n)
	if n > 0 {
		p.fn(p.sent, p.total)
	}
	return n, err
}

// RegisterXLSX downloads the register as an XLSX workbook
// (GET /register?format=xlsx), in the columns the importer reads.
func (c *Client) RegisterXLSX(ctx context.Context, f PartyFilter) ([]byte, error) {
	q := f.Query()
	if q == "" {
		q = "?format=xlsx"
	} else {
		q += "&format=xlsx"
	}
	req, err := c.Request(ctx, http.MethodGet, "/register"+q, nil)
	if err != nil {
		return nil, err
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Minute}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return nil, problem(resp.StatusCode, raw)
	}
	return raw, nil
}

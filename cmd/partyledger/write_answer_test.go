package main

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// TestWriteAnswersAsRead: a write is answered from the party as the command
// pipeline folded it, not from a read of the register; the answer must be
// byte for byte what a GET right after it returns (same body, same ETag),
// through every party and requirement write, a parent, controls, dates, a
// write that changes nothing, retirements, and a restart (cold fold cache).
func TestWriteAnswersAsRead(t *testing.T) {
	s := MustRunServe(t, "")
	same := func(t *testing.T, write *http.Response, path string) {
		t.Helper()
		wb, _ := io.ReadAll(write.Body)
		read := s.do(t, "GET", path, nil, nil)
		mustStatus(t, read, http.StatusOK)
		rb, _ := io.ReadAll(read.Body)
		if !bytes.Equal(wb, rb) {
			t.Errorf("%s %s answered\n%s\nbut GET %s gives\n%s", write.Request.Method, write.Request.URL.Path, wb, path, rb)
		}
		if we, re := write.Header.Get("ETag"), read.Header.Get("ETag"); we != re || we == "" {
			t.Errorf("%s %s: ETag %q, GET: %q", write.Request.Method, write.Request.URL.Path, we, re)
		}
	}
	var parent, p struct {
		ID string `json:"id"`
	}
	resp := s.do(t, "POST", "/api/v1/parties", map[string]any{"name": "Customers", "category": "customer", "scope": "external", "reason": "r"}, &parent)
	mustStatus(t, resp, http.StatusCreated)
	same(t, resp, "/api/v1/parties/"+parent.ID)
	resp = s.do(t, "POST", "/api/v1/parties", map[string]any{"name": "Acme Bank", "category": "customer", "scope": "external",
		"description": "a bank", "owner": "CISO", "influence": 4, "interest": 2, "parent_id": parent.ID, "reason": "r"}, &p)
	mustStatus(t, resp, http.StatusCreated)
	same(t, resp, "/api/v1/parties/"+p.ID)
	party := "/api/v1/parties/" + p.ID

	var rq struct {
		ID string `json:"id"`
	}
	resp = s.do(t, "POST", party+"/requirements", map[string]any{"kind": "requirement", "title": "Encrypt backups",
		"source_type": "contract", "source_ref": "MSA 7.2", "owner": "CISO", "priority": "high", "review_due": "2030-01-01",
		"addressed": true, "rationale": "contract", "treatment": "A.8.24", "controls": []string{"A.8.24"}, "reason": "r"}, &rq)
	mustStatus(t, resp, http.StatusCreated)
	same(t, resp, party+"/requirements/"+rq.ID)
	req := party + "/requirements/" + rq.ID
	resp = s.do(t, "POST", party+"/requirements", map[string]any{"kind": "expectation", "title": "Quarterly report", "reason": "r"}, nil)
	mustStatus(t, resp, http.StatusCreated)

	resp = s.do(t, "PATCH", req, map[string]any{"title": "Encrypt all backups", "review_due": nil, "reason": "r"}, nil)
	mustStatus(t, resp, http.StatusOK)
	same(t, resp, req)
	resp = s.do(t, "POST", req+"/addressing", map[string]any{"addressed": nil, "controls": []string{}, "reason": "r"}, nil)
	mustStatus(t, resp, http.StatusOK)
	same(t, resp, req)
	resp = s.do(t, "PATCH", party, map[string]any{"description": "a bigger bank", "parent_id": nil, "reason": "r"}, nil)
	mustStatus(t, resp, http.StatusOK)
	same(t, resp, party)
	resp = s.do(t, "PATCH", party, map[string]any{"description": "a bigger bank", "reason": "r"}, nil) // changes nothing
	mustStatus(t, resp, http.StatusOK)
	same(t, resp, party)
	resp = s.do(t, "POST", req+"/retire", map[string]any{"reason": "r"}, nil)
	mustStatus(t, resp, http.StatusOK)
	same(t, resp, req)

	// A restart empties the fold cache: the first write folds the stream.
	s.stop()
	token := s.Token
	s = MustRunServe(t, s.DB)
	s.Token = token
	resp = s.do(t, "PATCH", party, map[string]any{"name": "Acme Bank plc", "reason": "r"}, nil)
	mustStatus(t, resp, http.StatusOK)
	same(t, resp, party)
	resp = s.do(t, "POST", party+"/retire", map[string]any{"reason": "r"}, nil)
	mustStatus(t, resp, http.StatusOK)
	same(t, resp, party)
}

package console

import (
	"encoding/json"
	"testing"
)

func TestParseRoleMap(t *testing.T) {
	rules, err := ParseRoleMap(" isms-admins=admin, isms-editors = editor,auditors=auditor,*=viewer ")
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 4 || rules[1] != (RoleRule{Value: "isms-editors", Role: "editor"}) || rules[3].Value != "*" {
		t.Fatalf("rules = %+v", rules)
	}
	for _, bad := range []string{"", ",", "isms-admins", "isms-admins=root", "=admin"} {
		if _, err := ParseRoleMap(bad); err == nil {
			t.Errorf("ParseRoleMap(%q) accepted", bad)
		}
	}
}

func TestMapRole(t *testing.T) {
	rules, _ := ParseRoleMap("isms-admins=admin,isms-editors=editor,auditors=auditor")
	withStar, _ := ParseRoleMap("auditors=auditor,*=viewer")
	for _, tc := range []struct {
		rules  []RoleRule
		values []string
		want   string
	}{
		{rules, []string{"isms-admins"}, "admin"},
		{rules, []string{"auditors", "isms-editors"}, "editor"},
		{rules, []string{"auditors", "isms-admins", "isms-editors"}, "admin"},
		{rules, []string{"engineering"}, ""},
		{rules, nil, ""},
		{withStar, nil, "viewer"},
		{withStar, []string{"auditors"}, "auditor"},
	} {
		if got := MapRole(tc.rules, tc.values); got != tc.want {
			t.Errorf("MapRole(%v) = %q, want %q", tc.values, got, tc.want)
		}
	}
}

func TestIdentify(t *testing.T) {
	rules, _ := ParseRoleMap("isms-admins=admin,editors=editor")
	o := &OIDC{cfg: OIDCConfig{RoleClaim: "groups", RoleMap: rules}}
	claims := func(s string) map[string]any {
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, tc := range []struct {
		claims, want, role string
	}{
		{`{"email":"Jane.Doe@Example.com","email_verified":true,"groups":["editors"]}`, "oidc:jane.doe@example.com", "editor"},
		{`{"email":"jane@example.com","groups":"isms-admins"}`, "oidc:jane@example.com", "admin"},
		{`{"email":"jane@example.com","email_verified":false,"groups":["x"]}`, "oidc:s-1", ""},
		{`{"groups":[1,"editors"]}`, "oidc:s-1", "editor"},
	} {
		got := o.identify("s-1", claims(tc.claims))
		if got.Actor != tc.want || got.Role != tc.role {
			t.Errorf("identify(%s) = %+v, want %s %q", tc.claims, got, tc.want, tc.role)
		}
	}
	o.cfg.RoleClaim = "realm_access.roles"
	if got := o.identify("s", claims(`{"realm_access":{"roles":["isms-admins"]}}`)); got.Role != "admin" {
		t.Errorf("dotted claim path: %+v", got)
	}
}

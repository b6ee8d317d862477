package projections

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/partyledger/partyledger/domain"
)

// relDir answers the relationship decisions' questions from the ledger and
// the read model under test, as the command service does.
type relDir struct {
	l *ledger
	m *ReadModel
}

func (d relDir) PartyStatus(id domain.PartyID) string { return d.l.PartyStatus(id) }

func (d relDir) ActiveRelationship(from, to domain.PartyID, kind string) (domain.RelationshipID, bool) {
	id, ok, err := d.m.ActiveRelationship(context.Background(), string(from), string(to), kind)
	if err != nil {
		d.l.tb.Fatal(err)
	}
	return domain.RelationshipID(id), ok
}

// relate decides on relationship id (folded from the store) and appends.
func relate(tb testing.TB, l *ledger, m *ReadModel, id domain.RelationshipID,
	decide func(r *domain.Relationship, dir domain.RelationshipDirectory) ([]domain.Event, error)) error {
	tb.Helper()
	MustWait(tb, m, l.head)
	stored, err := l.store.ReadStream(context.Background(), id.Stream(), 1)
	if err != nil {
		tb.Fatal(err)
	}
	r := &domain.Relationship{}
	for _, e := range stored {
		de, err := domain.Decode(e.Type, e.Schema, e.Data)
		if err != nil {
			tb.Fatal(err)
		}
		r.Apply(de)
	}
	evs, err := decide(r, relDir{l, m})
	if err != nil {
		return err
	}
	l.append(id.Stream(), r.Version, meta("relationship"), evs)
	MustWait(tb, m, l.head)
	return nil
}

func establish(tb testing.TB, l *ledger, m *ReadModel, from, to domain.PartyID, kind, label string) (domain.RelationshipID, error) {
	tb.Helper()
	id := domain.RelationshipID(newID())
	return id, relate(tb, l, m, id, func(r *domain.Relationship, dir domain.RelationshipDirectory) ([]domain.Event, error) {
		return r.Establish(domain.EstablishRelationship{Meta: meta(""), RelationshipID: id, FromPartyID: from,
			ToPartyID: to, Kind: kind, Label: label}, dir, l.now)
	})
}

func TestRelationshipsProjection(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	m := MustOpenReadModel(t, store)
	stop := MustRun(t, m)
	l := newLedger(t, store)
	cloud := l.identify("Cloud provider", "supplier", "external", "")
	customers := l.identify("Customers", "customer", "external", "")
	rival := l.identify("Rival Ltd", "competitor", "external", "")

	hosts, err := establish(t, l, m, cloud, customers, "other", "hosts customer data")
	if err != nil {
		t.Fatal(err)
	}
	competes, err := establish(t, l, m, rival, customers, "competes_with", "")
	if err != nil {
		t.Fatal(err)
	}
	supplies, err := establish(t, l, m, cloud, customers, "supplies", "")
	if err != nil {
		t.Fatal(err)
	}
	review := l.head // what a management review held now would consider
	// The store-level rule: a second active (from, to, kind) is refused.
	if _, err := establish(t, l, m, cloud, customers, "supplies", ""); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Fatalf("duplicate: %v, want conflict", err)
	}
	if err := relate(t, l, m, hosts, func(r *domain.Relationship, dir domain.RelationshipDirectory) ([]domain.Event, error) {
		return r.Revise(domain.ReviseRelationship{Meta: meta("clarified"), RelationshipID: hosts,
			Label: ptr("hosts customer data in the EU"), Description: ptr("Two regions.")}, dir, l.now)
	}); err != nil {
		t.Fatal(err)
	}
	if err := relate(t, l, m, supplies, func(r *domain.Relationship, _ domain.RelationshipDirectory) ([]domain.Event, error) {
		return r.End(domain.EndRelationship{Meta: meta("contract ended"), RelationshipID: supplies}, l.now)
	}); err != nil {
		t.Fatal(err)
	}
	// Ended: the kind is free again.
	if _, err := establish(t, l, m, cloud, customers, "supplies", ""); err != nil {
		t.Fatalf("re-establish after end: %v", err)
	}
	l.retire(rival)
	MustWait(t, m, l.head)

	ids := func(f RelationshipFilter) []string {
		vs, err := m.Relationships(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, v := range vs {
			out = append(out, v.FromPartyName+" "+v.Kind+" "+v.ToPartyName+" "+v.Status)
		}
		return out
	}
	if diff := cmp.Diff([]string{"Cloud provider other Customers active", "Cloud provider supplies Customers active"},
		ids(RelationshipFilter{})); diff != "" {
		t.Errorf("current map (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Cloud provider other Customers active", "Rival Ltd competes_with Customers active",
		"Cloud provider supplies Customers ended", "Cloud provider supplies Customers active"},
		ids(RelationshipFilter{Status: "all", PartyID: string(customers)})); diff != "" {
		t.Errorf("all (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Cloud provider supplies Customers ended"}, ids(RelationshipFilter{Status: "ended"})); diff != "" {
		t.Errorf("ended (-want +got):\n%s", diff)
	}
	if got := ids(RelationshipFilter{Status: "all", Kind: "competes_with"}); len(got) != 1 {
		t.Errorf("kind filter: %v", got)
	}
	if _, err := m.Relationships(ctx, RelationshipFilter{Status: "gone"}); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("bad status: %v", err)
	}
	v, err := m.Relationship(ctx, string(hosts))
	if err != nil {
		t.Fatal(err)
	}
	if v.Label != "hosts customer data in the EU" || v.Description != "Two regions." || v.Version != 2 || !v.OnMap {
		t.Errorf("revised relationship: %+v", v)
	}
	if v, _ := m.Relationship(ctx, string(competes)); v.OnMap || v.Status != "active" {
		t.Errorf("relationship of a retired party: on_map %v, status %s", v.OnMap, v.Status)
	}
	if _, err := m.Relationship(ctx, newID()); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("unknown relationship: %v", err)
	}

	// Since the "review": revised, added, ended; the retired party's
	// relationship has left the map.
	since, err := m.RelationshipsSince(ctx, review)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range since {
		got = append(got, v.Kind+" "+v.Status+" "+v.Change)
	}
	if diff := cmp.Diff([]string{"other active changed", "supplies active added", "supplies ended ended"}, got); diff != "" {
		t.Errorf("since the review (-want +got):\n%s", diff)
	}

	// Rebuilt from zero, the table is what live updates made.
	dump := func() [][]any {
		rows, err := m.db.Query(`SELECT id, version, position, revised_at_position, ended_at_position,
			from_party_id, to_party_id, kind, label, description, status, established_at, established_by,
			updated_at FROM relationships ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out [][]any
		for rows.Next() {
			vals := make([]any, 14)
			ptrs := make([]any, 14)
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out = append(out, vals)
		}
		return out
	}
	before := dump()
	if len(before) != 4 {
		t.Fatalf("%d relationship rows, want 4", len(before))
	}
	stop()
	if err := m.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, dump()); diff != "" {
		t.Errorf("rebuilt relationships differ (-live +rebuilt):\n%s", diff)
	}
}

// TestPartyRelationshipsPoint checks the one-party relationship read (the
// prepared statement behind GET /parties/{id}) against the current map: for
// every party, the map's relationships that touch it, in either direction,
// in the same order; and that its plan reaches them through the party's
// keys, never by walking a table (that cost grows with the register).
func TestPartyRelationshipsPoint(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	m := MustOpenReadModel(t, store)
	MustRun(t, m)
	l := newLedger(t, store)
	a := l.identify("Alpha", "supplier", "external", "")
	b := l.identify("Beta", "customer", "external", "")
	c := l.identify("Gamma", "regulator", "external", "")
	d := l.identify("Delta", "partner", "external", "")
	lonely := l.identify("Lonely", "other", "external", "")
	for _, r := range [][2]domain.PartyID{{a, b}, {b, c}, {c, a}, {a, d}, {d, b}} {
		if _, err := establish(t, l, m, r[0], r[1], "supplies", ""); err != nil {
			t.Fatal(err)
		}
	}
	ended, err := establish(t, l, m, b, a, "influences", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := relate(t, l, m, ended, func(r *domain.Relationship, _ domain.RelationshipDirectory) ([]domain.Event, error) {
		return r.End(domain.EndRelationship{Meta: meta("over"), RelationshipID: ended}, l.now)
	}); err != nil {
		t.Fatal(err)
	}
	l.retire(d) // d's relationships leave the map, and so every party's answer
	MustWait(t, m, l.head)

	all, err := m.Relationships(ctx, RelationshipFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Fatalf("current map has %d relationships, want 3: %+v", len(all), all)
	}
	for _, p := range []domain.PartyID{a, b, c, d, lonely} {
		want := []RelationshipView{}
		for _, r := range all {
			if r.FromPartyID == string(p) || r.ToPartyID == string(p) {
				want = append(want, r)
			}
		}
		got, err := m.Relationships(ctx, RelationshipFilter{PartyID: string(p)})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("relationships of %s (-map +point read):\n%s", p, diff)
		}
	}

	plan := queryPlan(t, m.db, partyRelationshipsQuery, string(a))
	// A scan, or a search by status alone (every active party: what the
	// planner chose for the OR over LEFT JOINs), costs the register's size.
	for _, step := range strings.Split(plan, "\n") {
		if strings.HasPrefix(step, "SCAN ") || strings.Contains(step, "(status=?)") {
			t.Errorf("the one-party relationship read walks a table: %q in\n%s", step, plan)
		}
	}
}

// TestPartyRelationshipsAnyStatus checks Relationships for one party in each
// status against the whole map filtered by hand, and that its plan reaches
// the party's relationships through the indexes, never by walking the
// relationships table (the OR over both columns did, for every status).
func TestPartyRelationshipsAnyStatus(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	m := MustOpenReadModel(t, store)
	MustRun(t, m)
	l := newLedger(t, store)
	a := l.identify("Alpha", "supplier", "external", "")
	b := l.identify("Beta", "customer", "external", "")
	c := l.identify("Gamma", "regulator", "external", "")
	var ids []domain.RelationshipID
	for _, r := range [][2]domain.PartyID{{a, b}, {b, c}, {c, a}, {b, a}} {
		id, err := establish(t, l, m, r[0], r[1], "supplies", "")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, id := range []domain.RelationshipID{ids[0], ids[1]} {
		if err := relate(t, l, m, id, func(r *domain.Relationship, _ domain.RelationshipDirectory) ([]domain.Event, error) {
			return r.End(domain.EndRelationship{Meta: meta("over"), RelationshipID: id}, l.now)
		}); err != nil {
			t.Fatal(err)
		}
	}
	MustWait(t, m, l.head)
	for _, status := range []string{"all", "ended", "active"} {
		every, err := m.Relationships(ctx, RelationshipFilter{Status: status})
		if err != nil {
			t.Fatal(err)
		}
		if len(every) == 0 {
			t.Fatalf("status %s: no relationships", status)
		}
		for _, p := range []domain.PartyID{a, b, c} {
			want := []RelationshipView{}
			for _, r := range every {
				if r.FromPartyID == string(p) || r.ToPartyID == string(p) {
					want = append(want, r)
				}
			}
			got, err := m.Relationships(ctx, RelationshipFilter{PartyID: string(p), Status: status})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("relationships of %s, status %s (-filtered map +query):\n%s", p, status, diff)
			}
		}
		f := RelationshipFilter{PartyID: string(a), Status: status}
		if status == "active" {
			f.Kind = "supplies" // not the point read
		}
		q, args, err := relationshipsQuery(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, step := range strings.Split(queryPlan(t, m.db, q, args...), "\n") {
			if strings.HasPrefix(step, "SCAN r") || strings.HasPrefix(step, "SCAN relationships") {
				t.Errorf("status %s: the party's relationships read walks the table: %q", status, step)
			}
		}
	}
}

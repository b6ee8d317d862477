package projections

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/partyledger/partyledger/domain"
)

// objLedger adds objectives and communications to a ledger.
type objLedger struct {
	*ledger
	objs  map[domain.ObjectiveID]*domain.Objective
	comms int
}

func newObjLedger(tb testing.TB, l *ledger) *objLedger {
	return &objLedger{ledger: l, objs: map[domain.ObjectiveID]*domain.Objective{}}
}

// RequirementStatus implements domain.RequirementDirectory over the ledger.
func (l *objLedger) RequirementStatus(id domain.RequirementID) string {
	for _, p := range l.parties {
		if r := p.Requirements[id]; r != nil {
			return r.Status
		}
	}
	return ""
}

func (l *objLedger) objective(id domain.ObjectiveID, m domain.Meta, decide func(o *domain.Objective, now time.Time) ([]domain.Event, error)) {
	l.tb.Helper()
	o := l.objs[id]
	if o == nil {
		o = &domain.Objective{}
	}
	evs, err := decide(o, l.now)
	if err != nil {
		l.tb.Fatalf("decide on objective %s: %v", id, err)
	}
	if len(evs) == 0 {
		l.tb.Fatalf("decision on objective %s changed nothing", id)
	}
	l.append(id.Stream(), o.Version, m, evs)
	for _, e := range evs {
		o.Apply(e)
	}
	l.objs[id] = o
}

func (l *objLedger) setObjective(title, owner string, reqs ...domain.RequirementID) domain.ObjectiveID {
	l.tb.Helper()
	id := domain.ObjectiveID(newID())
	cmd := domain.SetObjective{Meta: meta(""), ObjectiveID: id, Title: title, Owner: owner, Due: "2026-12-31",
		Status: "in_progress", RequirementIDs: reqs}
	l.objective(id, cmd.Meta, func(o *domain.Objective, now time.Time) ([]domain.Event, error) { return o.Set(cmd, l, now) })
	return id
}

func (l *objLedger) defineKPI(obj domain.ObjectiveID, name, op string, target float64) domain.KPIID {
	l.tb.Helper()
	id := domain.KPIID(newID())
	cmd := domain.DefineKPI{Meta: meta(""), ObjectiveID: obj, KPIID: id, Name: name, Unit: "%", Operator: op,
		Target: target, Frequency: "monthly"}
	l.objective(obj, cmd.Meta, func(o *domain.Objective, now time.Time) ([]domain.Event, error) { return o.DefineKPI(cmd, now) })
	return id
}

func (l *objLedger) measure(obj domain.ObjectiveID, kpi domain.KPIID, value float64, at string, corrects domain.MeasurementID) domain.MeasurementID {
	l.tb.Helper()
	id := domain.MeasurementID(newID())
	cmd := domain.MeasureKPI{Meta: meta(""), ObjectiveID: obj, KPIID: kpi, MeasurementID: id, Value: value, MeasuredAt: at}
	if corrects != "" {
		cmd.Corrects = &corrects
	}
	l.objective(obj, cmd.Meta, func(o *domain.Objective, now time.Time) ([]domain.Event, error) { return o.Measure(cmd, now) })
	return id
}

func (l *objLedger) reviewRequirement(cmd domain.ReviewRequirement) {
	l.tb.Helper()
	cmd.Meta = meta("periodic review")
	l.party(cmd.PartyID, cmd.Meta, func(p *domain.Party, now time.Time) ([]domain.Event, error) {
		return p.ReviewRequirement(cmd, now)
	})
}

func (l *objLedger) plan(party domain.PartyID, topic, when, channel string) domain.PlanEntryID {
	l.tb.Helper()
	id := domain.PlanEntryID(newID())
	cmd := domain.PlanCommunication{Meta: meta(""), PartyID: party, PlanEntryID: id, Topic: topic, When: when,
		Channel: channel, Communicator: "CISO"}
	l.party(party, cmd.Meta, func(p *domain.Party, now time.Time) ([]domain.Event, error) {
		return p.PlanCommunication(cmd, now)
	})
	return id
}

func (l *objLedger) send(party domain.PartyID, plan domain.PlanEntryID, channel, at string) domain.CommunicationID {
	l.tb.Helper()
	id := domain.CommunicationID(newID())
	cmd := domain.SendCommunication{Meta: meta(""), CommunicationID: id, PartyID: party, Channel: channel,
		SentBy: "CISO", Summary: "sent", SentAt: at}
	if plan != "" {
		cmd.PlanEntryID = &plan
	}
	evs, err := (&domain.Communication{}).Send(cmd, l.parties[party], l.now)
	if err != nil {
		l.tb.Fatal(err)
	}
	l.append(id.Stream(), 0, cmd.Meta, evs)
	return id
}

// objScenario is what objectiveScenario wrote.
type objScenario struct {
	customers, acme, staff                    domain.PartyID
	gdpr, avail, sla, ethics, nda             domain.RequirementID
	o1, o2                                    domain.ObjectiveID
	availability, backups, incidents          domain.KPIID
	jan, feb, febFixed, mar, bk, bkFixed      domain.MeasurementID
	newsletter, incidentsPlan, supplierReview domain.PlanEntryID
	sent, adHoc                               domain.CommunicationID
}

// objectiveScenario writes objectives with KPIs and corrected
// measurements, requirement reviews of every outcome, a communication plan
// and a log, with a management review in the middle. step is called between
// commands.
func objectiveScenario(l *objLedger, step func()) objScenario {
	var s objScenario
	s.customers = l.identify("Customers", "customer", "external", "")
	s.acme = l.identify("ACME Hosting", "supplier", "external", "")
	s.staff = l.identify("Employees", "employee", "internal", "")
	s.gdpr = l.requirement(s.customers, "requirement", "GDPR Art. 32")
	l.decide(domain.DecideAddressing{PartyID: s.customers, RequirementID: s.gdpr, Addressed: ptr(true),
		Rationale: "law", Treatment: "encryption", Controls: []string{"A.8.24"}})
	s.avail = l.requirement(s.customers, "requirement", "99.9 % availability")
	l.reviseRequirement(domain.ReviseRequirement{PartyID: s.customers, RequirementID: s.avail, ReviewDue: ptr("2026-03-01")})
	s.sla = l.requirement(s.acme, "requirement", "Supplier SLA")
	l.reviseRequirement(domain.ReviseRequirement{PartyID: s.acme, RequirementID: s.sla, ReviewDue: ptr("2026-03-20"),
		Owner: ptr("Head of SRE")})
	s.ethics = l.requirement(s.staff, "expectation", "Ethical conduct")
	s.nda = l.requirement(s.acme, "requirement", "Old NDA")
	step()

	s.o1 = l.setObjective("Keep the platform available", "Head of SRE", s.avail)
	s.availability = l.defineKPI(s.o1, "Availability", ">=", 99.5)
	s.backups = l.defineKPI(s.o1, "Backup success", ">=", 85)
	s.jan = l.measure(s.o1, s.availability, 99.7, "2026-01-31", "")
	s.o2 = l.setObjective("Zero confidentiality incidents", "DPO", s.gdpr, s.sla)
	s.incidents = l.defineKPI(s.o2, "Confidentiality incidents", "=", 0)
	l.measure(s.o2, s.incidents, 0, "2026-01-31", "")
	s.newsletter = l.plan(s.customers, "Security newsletter", "Monthly", "email")
	s.sent = l.send(s.customers, s.newsletter, "", "2026-01-15")
	step()
	l.review("Q1 review")
	step()

	s.feb = l.measure(s.o1, s.availability, 99.2, "2026-02-28", "")                // below target
	s.febFixed = l.measure(s.o1, s.availability, 99.6, "", s.feb)                  // a correction that meets it
	s.mar = l.measure(s.o1, s.availability, 99.8, "2026-03-01T23:00:00+01:00", "") // 22:00 UTC on 1 March
	s.bk = l.measure(s.o1, s.backups, 80, "2026-02-28", "")
	s.bkFixed = l.measure(s.o1, s.backups, 78, "", s.bk)
	step()
	rev := domain.ReviseKPI{Meta: meta("insurer asks for more"), ObjectiveID: s.o1, KPIID: s.backups, Target: ptr(90.0)}
	l.objective(s.o1, rev.Meta, func(o *domain.Objective, now time.Time) ([]domain.Event, error) { return o.ReviseKPI(rev, now) })
	ro := domain.ReviseObjective{Meta: meta("backups failing"), ObjectiveID: s.o1, Status: ptr("at_risk"), Due: ptr("2027-03-31")}
	l.objective(s.o1, ro.Meta, func(o *domain.Objective, now time.Time) ([]domain.Event, error) { return o.Revise(ro, l, now) })
	ab := domain.ReviseObjective{Meta: meta("merged into the ISMS plan"), ObjectiveID: s.o2, Status: ptr("abandoned")}
	l.objective(s.o2, ab.Meta, func(o *domain.Objective, now time.Time) ([]domain.Event, error) { return o.Revise(ab, l, now) })
	step()

	l.reviewRequirement(domain.ReviewRequirement{PartyID: s.staff, RequirementID: s.ethics, Outcome: "unchanged",
		Notes: "still expected", NextReviewDue: "2026-04-01"})
	l.reviewRequirement(domain.ReviewRequirement{PartyID: s.customers, RequirementID: s.gdpr, Outcome: "changed",
		NextReviewDue: "2026-09-30", Revision: &domain.ReviseRequirement{Priority: ptr("critical")}})
	l.reviewRequirement(domain.ReviewRequirement{PartyID: s.acme, RequirementID: s.nda, Outcome: "retired"})
	s.incidentsPlan = l.plan(s.customers, "Security incidents", "within 24 hours of detection", "email")
	s.supplierReview = l.plan(s.acme, "Supplier review", "quarterly", "meeting")
	s.adHoc = l.send(s.staff, "", "team_meeting", "")
	step()
	return s
}

// objectiveTables are the tables of the projections of clauses 6.2 and 7.4,
// and the feed they add to.
var objectiveTables = []string{"checkpoints", "objectives", "objective_requirements", "kpis", "kpi_measurements",
	"requirement_reviews", "communication_plan", "communications", "changes", "change_objectives", "change_kpis",
	"parties", "requirements"}

func dumpRows(tb testing.TB, db *sql.DB, tables ...string) map[string][][]any {
	tb.Helper()
	out := map[string][][]any{}
	for _, t := range tables {
		rows, err := db.Query(`SELECT * FROM ` + t + ` ORDER BY 1`)
		if err != nil {
			tb.Fatal(err)
		}
		cols, _ := rows.Columns()
		out[t] = [][]any{}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				tb.Fatal(err)
			}
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					vals[i] = string(b)
				}
			}
			out[t] = append(out[t], vals)
		}
		if err := rows.Err(); err != nil {
			tb.Fatal(err)
		}
		rows.Close()
	}
	return out
}

// today is the date the scenario's queries are asked on.
const today = "2026-03-10"

// objViews is everything the queries of clauses 6.2 and 7.4 return.
type objViews struct {
	Objectives  []ObjectiveView
	Objective   map[string]ObjectiveView
	Gaps        []GapView
	Due         []OwnerReviews
	Plans       map[string][]PlanEntryView
	Overdue     []PlanEntryView
	Log         []CommunicationView
	Changes     []ChangeItem
	Net         []NetItem
	NetSinceMR  []NetItem
	PartyETags  map[string]int64
	Reviews     map[string][]RequirementReviewView
	Measurement map[string]MeasurementView
}

func mustObjViews(tb testing.TB, m *ReadModel, s objScenario) objViews {
	tb.Helper()
	ctx := context.Background()
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	v := objViews{Objective: map[string]ObjectiveView{}, Plans: map[string][]PlanEntryView{},
		PartyETags: map[string]int64{}, Reviews: map[string][]RequirementReviewView{},
		Measurement: map[string]MeasurementView{}}
	var err error
	v.Objectives, err = m.Objectives(ctx, ObjectiveFilter{})
	must(err)
	for _, o := range v.Objectives {
		v.Objective[o.ID], err = m.Objective(ctx, o.ID, DefaultTrend)
		must(err)
	}
	v.Gaps, err = m.OpenGaps(ctx)
	must(err)
	v.Due, err = m.ReviewsDue(ctx, today, "2026-04-09")
	must(err)
	for _, p := range []domain.PartyID{s.customers, s.acme, s.staff} {
		v.Plans[string(p)], err = m.CommunicationPlan(ctx, string(p), today)
		must(err)
		pv, err := m.Party(ctx, string(p))
		must(err)
		v.PartyETags[string(p)] = pv.Version
	}
	v.Overdue, err = m.OverdueCommunications(ctx, "", today)
	must(err)
	v.Log, err = m.Communications(ctx, CommunicationFilter{})
	must(err)
	v.Changes, err = m.Changes(ctx, Window{})
	must(err)
	v.Net = NetChanges(v.Changes)
	last, _, err := m.LastReview(ctx)
	must(err)
	since, err := m.Changes(ctx, Window{After: last.Position})
	must(err)
	v.NetSinceMR = NetChanges(since)
	for _, r := range []struct {
		p domain.PartyID
		r domain.RequirementID
	}{{s.staff, s.ethics}, {s.customers, s.gdpr}, {s.acme, s.nda}, {s.customers, s.avail}} {
		v.Reviews[string(r.r)], err = m.RequirementReviews(ctx, string(r.p), string(r.r))
		must(err)
	}
	for _, id := range []domain.MeasurementID{s.feb, s.febFixed, s.bkFixed} {
		v.Measurement[string(id)], err = m.Measurement(ctx, string(id))
		must(err)
	}
	return v
}

// TestObjectivesLiveEqualsRebuild: applying the log live in small batches,
// catching up from zero and rebuilding give the same rows and answers.
func TestObjectivesLiveEqualsRebuild(t *testing.T) {
	store := MustOpenStore(t)
	live := MustOpenReadModel(t, store)
	stopLive := MustRun(t, live)
	l := newObjLedger(t, newLedger(t, store))
	s := objectiveScenario(l, func() { MustWait(t, live, l.head) })
	MustWait(t, live, l.head)
	liveRows, liveViews := dumpRows(t, live.db, objectiveTables...), mustObjViews(t, live, s)

	fresh := MustOpenReadModel(t, store)
	MustRun(t, fresh)
	MustWait(t, fresh, l.head)
	if diff := cmp.Diff(liveRows, dumpRows(t, fresh.db, objectiveTables...)); diff != "" {
		t.Errorf("catch-up rows differ from live (-live +catch-up):\n%s", diff)
	}
	if diff := cmp.Diff(liveViews, mustObjViews(t, fresh, s)); diff != "" {
		t.Errorf("catch-up views differ from live (-live +catch-up):\n%s", diff)
	}

	stopLive()
	if err := live.Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(liveRows, dumpRows(t, live.db, objectiveTables...)); diff != "" {
		t.Errorf("rebuilt rows differ from live (-live +rebuilt):\n%s", diff)
	}
	if diff := cmp.Diff(liveViews, mustObjViews(t, live, s)); diff != "" {
		t.Errorf("rebuilt views differ from live (-live +rebuilt):\n%s", diff)
	}
}

func TestObjectiveQueries(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	m := MustOpenReadModel(t, store)
	MustRun(t, m)
	l := newObjLedger(t, newLedger(t, store))
	s := objectiveScenario(l, func() {})
	MustWait(t, m, l.head)
	v := mustObjViews(t, m, s)

	// Objective 1: availability meets its target on the latest value; the
	// trend shows the correction in place of February's value.
	o1 := v.Objective[string(s.o1)]
	if o1.Status != "at_risk" || o1.Due != "2027-03-31" || o1.Version != l.objs[s.o1].Version {
		t.Errorf("objective 1: status %s, due %s, version %d (stream %d)", o1.Status, o1.Due, o1.Version, l.objs[s.o1].Version)
	}
	if diff := cmp.Diff([]string{string(s.avail)}, o1.RequirementIDs); diff != "" {
		t.Errorf("requirements (-want +got):\n%s", diff)
	}
	if len(o1.KPIs) != 2 {
		t.Fatalf("objective 1 has %d KPIs", len(o1.KPIs))
	}
	avail, backups := o1.KPIs[0], o1.KPIs[1]
	type point struct {
		ID    string
		Value float64
		At    string
		Meets bool
	}
	var trend []point
	for _, p := range avail.Trend {
		trend = append(trend, point{p.ID, p.Value, p.MeasuredAt, p.MeetsTarget})
	}
	want := []point{{string(s.jan), 99.7, "2026-01-31T00:00:00Z", true},
		{string(s.febFixed), 99.6, "2026-02-28T00:00:00Z", true},
		{string(s.mar), 99.8, "2026-03-01T22:00:00Z", true}}
	if diff := cmp.Diff(want, trend); diff != "" {
		t.Errorf("availability trend (-want +got):\n%s", diff)
	}
	if avail.Latest == nil || avail.Latest.ID != string(s.mar) || avail.MeetsTarget == nil || !*avail.MeetsTarget {
		t.Errorf("availability latest %+v, meets %v", avail.Latest, avail.MeetsTarget)
	}
	if backups.Target != 90 || backups.Latest == nil || backups.Latest.Value != 78 ||
		backups.Latest.Corrects == nil || *backups.Latest.Corrects != string(s.bk) ||
		backups.MeetsTarget == nil || *backups.MeetsTarget {
		t.Errorf("backups: target %v, latest %+v, meets %v", backups.Target, backups.Latest, backups.MeetsTarget)
	}
	if o1.KPIsBelowTarget != 1 {
		t.Errorf("KPIs below target = %d, want 1", o1.KPIsBelowTarget)
	}
	// The list has no trends; one KPI of the list has no measurement.
	if len(v.Objectives) != 2 || v.Objectives[0].ID != string(s.o1) || v.Objectives[0].KPIs[0].Trend != nil {
		t.Errorf("objectives list: %+v", v.Objectives)
	}
	if ms := v.Measurement[string(s.feb)]; ms.Value != 99.2 || ms.MeetsTarget {
		t.Errorf("February as recorded: %+v", ms)
	}
	// A KPI without measurements: latest and meets_target are null.
	cmd := domain.DefineKPI{Meta: meta(""), ObjectiveID: s.o2, KPIID: domain.KPIID(newID()), Name: "Phishing clicks",
		Operator: "<", Target: 5, Frequency: "quarterly"}
	l.objective(s.o2, cmd.Meta, func(o *domain.Objective, now time.Time) ([]domain.Event, error) { return o.DefineKPI(cmd, now) })
	MustWait(t, m, l.head)
	k, err := m.KPI(ctx, string(s.o2), string(cmd.KPIID), 5)
	if err != nil || k.Latest != nil || k.MeetsTarget != nil || len(k.Trend) != 0 {
		t.Errorf("unmeasured KPI: %+v, %v", k, err)
	}
	abandoned, err := m.Objectives(ctx, ObjectiveFilter{Status: "abandoned"})
	if err != nil || len(abandoned) != 1 || abandoned[0].ID != string(s.o2) {
		t.Errorf("abandoned objectives: %v, %v", abandoned, err)
	}
	if _, err := m.Objectives(ctx, ObjectiveFilter{Status: "done"}); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("unknown status filter: %v", err)
	}
	if _, err := m.Objective(ctx, newID(), 0); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("unknown objective: %v", err)
	}
	if _, err := m.KPI(ctx, string(s.o1), newID(), 0); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("unknown KPI: %v", err)
	}

	// Open gaps: the SLA is linked only to the abandoned objective, ethics to
	// none; GDPR has a control, availability an objective, the NDA is retired.
	var gaps []string
	for _, g := range v.Gaps {
		gaps = append(gaps, g.Party.Name+": "+g.Requirement.Title)
	}
	if diff := cmp.Diff([]string{"ACME Hosting: Supplier SLA", "Employees: Ethical conduct"}, gaps); diff != "" {
		t.Errorf("open gaps (-want +got):\n%s", diff)
	}

	// Reviews due by 2026-04-09, per owner.
	type due struct {
		Title   string
		Due     string
		Overdue bool
		Last    string
	}
	got := map[string][]due{}
	var owners []string
	for _, o := range v.Due {
		owners = append(owners, o.Owner)
		for _, r := range o.Reviews {
			last := ""
			if r.LastReviewed != nil {
				last = r.LastReviewed.Outcome
			}
			got[o.Owner] = append(got[o.Owner], due{r.Requirement.Title, r.ReviewDue, r.Overdue, last})
		}
	}
	wantDue := map[string][]due{
		"DPO":         {{"99.9 % availability", "2026-03-01", true, ""}, {"Ethical conduct", "2026-04-01", false, "unchanged"}},
		"Head of SRE": {{"Supplier SLA", "2026-03-20", false, ""}},
	}
	if diff := cmp.Diff(wantDue, got); diff != "" {
		t.Errorf("reviews due (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"DPO", "Head of SRE"}, owners); diff != "" || v.Due[0].Overdue != 1 || v.Due[0].DueSoon != 1 {
		t.Errorf("owners %v (diff %s), DPO overdue %d, due soon %d", owners, diff, v.Due[0].Overdue, v.Due[0].DueSoon)
	}
	if _, err := m.ReviewsDue(ctx, "10.03.2026", "2026-04-09"); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("bad date: %v", err)
	}
	// The register folds reviews: the changed one moved priority and date,
	// the retired one is retired, and the ETag is the stream's version.
	cust, err := m.Party(ctx, string(s.customers))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range cust.Requirements {
		if r.ID == string(s.gdpr) && (r.Priority != "critical" || r.ReviewDue == nil || *r.ReviewDue != "2026-09-30") {
			t.Errorf("GDPR after its review: priority %s, review_due %v", r.Priority, r.ReviewDue)
		}
	}
	for p, version := range v.PartyETags {
		if want := l.parties[domain.PartyID(p)].Version; version != want {
			t.Errorf("party %s: read model version %d, stream version %d", p, version, want)
		}
	}
	if rs := v.Reviews[string(s.nda)]; len(rs) != 1 || rs[0].Outcome != "retired" || rs[0].NextReviewDue != nil {
		t.Errorf("NDA reviews: %+v", rs)
	}
	if rs := v.Reviews[string(s.avail)]; len(rs) != 0 {
		t.Errorf("availability was never reviewed: %+v", rs)
	}

	// The communication plan: the monthly newsletter went out on 15
	// January, so it was due on 15 February; incidents are triggered.
	plan := v.Plans[string(s.customers)]
	if len(plan) != 2 {
		t.Fatalf("customers' plan: %+v", plan)
	}
	nl, inc := plan[0], plan[1]
	if nl.Frequency == nil || *nl.Frequency != "monthly" || nl.LastSent == nil || *nl.LastSent != "2026-01-15T00:00:00Z" ||
		nl.NextDue == nil || *nl.NextDue != "2026-02-15" || !nl.Overdue {
		t.Errorf("newsletter: %+v", nl)
	}
	if inc.Frequency != nil || inc.NextDue != nil || inc.Overdue || inc.LastSent != nil {
		t.Errorf("incident entry: %+v", inc)
	}
	// Never sent: due one quarter after it was planned (2 March).
	if sr := v.Plans[string(s.acme)]; len(sr) != 1 || sr[0].NextDue == nil || *sr[0].NextDue != "2026-06-02" || sr[0].Overdue {
		t.Errorf("supplier review: %+v", sr)
	}
	if len(v.Overdue) != 1 || v.Overdue[0].ID != string(s.newsletter) || v.Overdue[0].Party.Name != "Customers" {
		t.Errorf("overdue: %+v", v.Overdue)
	}
	if later, _ := m.OverdueCommunications(ctx, string(s.acme), "2026-06-03"); len(later) != 1 {
		t.Errorf("supplier review overdue on 2026-06-03: %+v", later)
	}
	if len(v.Log) != 2 || v.Log[0].ID != string(s.sent) || v.Log[0].Topic == nil || *v.Log[0].Topic != "Security newsletter" ||
		v.Log[1].ID != string(s.adHoc) || v.Log[1].Topic != nil || v.Log[1].Party.Name != "Employees" {
		t.Errorf("log: %+v", v.Log)
	}
	if one, err := m.Communications(ctx, CommunicationFilter{PartyID: string(s.staff)}); err != nil || len(one) != 1 {
		t.Errorf("staff's log: %+v, %v", one, err)
	}
	if _, err := m.CommunicationPlan(ctx, newID(), today); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("plan of an unknown party: %v", err)
	}
	if _, err := m.Communication(ctx, newID()); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("unknown communication: %v", err)
	}
}

func TestObjectiveFeed(t *testing.T) {
	store := MustOpenStore(t)
	m := MustOpenReadModel(t, store)
	MustRun(t, m)
	l := newObjLedger(t, newLedger(t, store))
	s := objectiveScenario(l, func() {})
	MustWait(t, m, l.head)
	v := mustObjViews(t, m, s)

	kinds := map[string]int{}
	for _, it := range v.Changes {
		kinds[it.Change]++
		if it.Objective != nil && it.Party.ID != "" {
			t.Errorf("objective item %d names a party", it.Position)
		}
	}
	want := map[string]int{
		ChangeObjectiveAdded: 2, ChangeKPIDefined: 3, ChangeObjectiveRevised: 2, ChangeKPIRevised: 1,
		// February's availability, and both backup values: corrections
		// that meet the target, and values that do, are no items.
		ChangeKPIBelowTarget:      3,
		ChangeRequirementReviewed: 3, ChangeCommunicationPlanned: 3, ChangeCommunicationSent: 2,
	}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%d %s items, want %d (all: %v)", kinds[k], k, n, kinds)
		}
	}

	// The net view since the review: objective 1 re-targeted, each KPI
	// below target (backups with its new target), every review and every
	// communication on its own.
	type net struct {
		Change, Subject string
		Fields          []string
	}
	var got []net
	for _, n := range v.NetSinceMR {
		subject := n.Party.Name
		if n.Requirement != nil {
			subject += ": " + n.Requirement.Title
		}
		if n.Objective != nil {
			subject = n.Objective.Title
			if n.Objective.KPI != nil {
				subject += ": " + n.Objective.KPI.Name
			}
		}
		var fields []string
		for _, fc := range n.Changes {
			fields = append(fields, fc.Field)
		}
		got = append(got, net{n.Change, subject, fields})
	}
	wantNet := []net{
		{ChangeKPIBelowTarget, "Keep the platform available: Availability", []string{"value", "measured_at"}},
		{ChangeKPIBelowTarget, "Keep the platform available: Backup success", []string{"target", "value", "measured_at", "corrects"}},
		{ChangeObjectiveRevised, "Keep the platform available", []string{"due", "status"}},
		{ChangeObjectiveRevised, "Zero confidentiality incidents", []string{"status"}},
		{ChangeRequirementReviewed, "Employees: Ethical conduct", []string{"outcome", "notes", "review_due"}},
		{ChangeRequirementRevised, "Customers: GDPR Art. 32", []string{"priority"}},
		{ChangeRequirementReviewed, "Customers: GDPR Art. 32", []string{"outcome", "review_due"}},
		{ChangeRequirementRetired, "ACME Hosting: Old NDA", []string{"status"}},
		{ChangeRequirementReviewed, "ACME Hosting: Old NDA", []string{"outcome"}},
		{ChangeCommunicationPlanned, "Customers", []string{"plan_entry_id", "topic", "when", "channel", "communicator", "priority"}},
		{ChangeCommunicationPlanned, "ACME Hosting", []string{"plan_entry_id", "topic", "when", "frequency", "channel", "communicator", "priority"}},
		{ChangeCommunicationSent, "Employees", []string{"channel", "sent_by", "summary", "sent_at"}},
	}
	if diff := cmp.Diff(wantNet, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("net changes since the review (-want +got):\n%s", diff)
	}

	// A party's history, from the read model and from its stream alone,
	// shows its reviews and plan entries.
	ctx := context.Background()
	for _, pid := range []domain.PartyID{s.customers, s.acme, s.staff} {
		hist, err := m.History(ctx, string(pid), "")
		if err != nil {
			t.Fatal(err)
		}
		fromLog, err := HistoryFromLog(ctx, store, string(pid), "")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(hist, fromLog); diff != "" {
			t.Errorf("history of %s (-read model +log):\n%s", pid, diff)
		}
	}
	hist, err := m.History(ctx, string(s.customers), string(s.gdpr))
	if err != nil {
		t.Fatal(err)
	}
	if last := hist[len(hist)-1]; last.Change != ChangeRequirementReviewed {
		t.Errorf("GDPR's history ends with %s", last.Change)
	}
}

package domain_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/partyledger/partyledger/domain"
)

// plannedIncidents is a trigger-based plan entry of party A.
func plannedIncidents() domain.CommunicationPlanned {
	return domain.CommunicationPlanned{PartyID: idA, PlanEntryID: idPE, Topic: "Security incidents",
		When: "within 24 hours of detection", Channel: "email", Communicator: "CISO", Priority: "high"}
}

func TestPartyPlanCommunication(t *testing.T) {
	valid := func(edit func(*domain.PlanCommunication)) domain.PlanCommunication {
		c := domain.PlanCommunication{Meta: meta, PartyID: idA, PlanEntryID: idPEN, Topic: " Policy changes ",
			When: " Quarterly ", Channel: "web_announcement", Communicator: " ISMS manager "}
		if edit != nil {
			edit(&c)
		}
		return c
	}
	event := func(edit func(*domain.CommunicationPlanned)) []domain.Event {
		e := domain.CommunicationPlanned{PartyID: idA, PlanEntryID: idPEN, Topic: "Policy changes",
			When: "quarterly", Frequency: "quarterly", Channel: "web_announcement",
			Communicator: "ISMS manager", Priority: "medium"}
		if edit != nil {
			edit(&e)
		}
		return []domain.Event{e}
	}
	withPlan := []domain.Event{identifiedA(), plannedIncidents()}
	tests := []struct {
		name       string
		history    []domain.Event
		cmd        domain.PlanCommunication
		want       []domain.Event
		wantCode   string
		wantFields []string
	}{
		{name: "a frequency is recognised in any case", history: withPlan, cmd: valid(nil), want: event(nil)},
		{name: "a trigger, high priority", history: []domain.Event{identifiedA()},
			cmd: valid(func(c *domain.PlanCommunication) {
				c.When, c.Priority, c.Channel = "Within 72 h of a personal data breach", "critical", "phone"
			}),
			want: event(func(e *domain.CommunicationPlanned) {
				e.When, e.Frequency, e.Priority, e.Channel = "Within 72 h of a personal data breach", "", "critical", "phone"
			})},

		{name: "plan entry id taken", history: withPlan,
			cmd: valid(func(c *domain.PlanCommunication) { c.PlanEntryID = idPE }), wantCode: domain.ECONFLICT},
		{name: "retired party", history: []domain.Event{identifiedA(), retiredA},
			cmd: valid(nil), wantCode: domain.ECONFLICT},
		{name: "unknown party", cmd: valid(nil), wantCode: domain.ENOTFOUND},
		{name: "topic, when and communicator missing", history: withPlan,
			cmd:      valid(func(c *domain.PlanCommunication) { c.Topic, c.When, c.Communicator = "", " ", "" }),
			wantCode: domain.EINVALID, wantFields: []string{"topic", "when", "communicator"}},
		{name: "channel missing", history: withPlan,
			cmd:      valid(func(c *domain.PlanCommunication) { c.Channel = "" }),
			wantCode: domain.EINVALID, wantFields: []string{"channel"}},
		{name: "channel and priority unknown", history: withPlan,
			cmd:      valid(func(c *domain.PlanCommunication) { c.Channel, c.Priority = "pigeon", "urgent" }),
			wantCode: domain.EINVALID, wantFields: []string{"channel", "priority"}},
		{name: "when on two lines, topic too long", history: withPlan,
			cmd: valid(func(c *domain.PlanCommunication) {
				c.When, c.Topic = "monthly\nor so", strings.Repeat("t", domain.MaxNameLen+1)
			}),
			wantCode: domain.EINVALID, wantFields: []string{"when", "topic"}},
		{name: "id not a UUID", history: withPlan,
			cmd:      valid(func(c *domain.PlanCommunication) { c.PlanEntryID = "plan-1" }),
			wantCode: domain.EINVALID, wantFields: []string{"id"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := MustFold(t, tc.history...)
			got, err := p.PlanCommunication(tc.cmd, now)
			checkDecision(t, got, err, tc.want, tc.wantCode, tc.wantFields)
		})
	}
}

func TestFoldCommunicationPlan(t *testing.T) {
	p := MustFold(t, identifiedA(), plannedIncidents())
	want := map[domain.PlanEntryID]*domain.PlanEntry{idPE: {ID: idPE, Topic: "Security incidents",
		When: "within 24 hours of detection", Channel: "email", Communicator: "CISO", Priority: "high"}}
	if diff := cmp.Diff(want, p.Plan); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	if p.Version != 2 {
		t.Errorf("version = %d, want 2", p.Version)
	}
}

func TestCommunicationSend(t *testing.T) {
	valid := func(edit func(*domain.SendCommunication)) domain.SendCommunication {
		c := domain.SendCommunication{Meta: meta, CommunicationID: idCom, PartyID: idA, PlanEntryID: ptr(idPE),
			SentBy: " CISO ", Summary: " INC-7 notified: no data left the tenant. ", EvidenceRef: " mail:<x@acme.example> "}
		if edit != nil {
			edit(&c)
		}
		return c
	}
	event := func(edit func(*domain.CommunicationSent)) []domain.Event {
		e := domain.CommunicationSent{CommunicationID: idCom, PartyID: idA, PlanEntryID: ptr(idPE), Channel: "email",
			SentBy: "CISO", Summary: "INC-7 notified: no data left the tenant.", EvidenceRef: "mail:<x@acme.example>",
			SentAt: "2025-06-01T12:00:00Z"}
		if edit != nil {
			edit(&e)
		}
		return []domain.Event{e}
	}
	party := []domain.Event{identifiedA(), plannedIncidents()}
	sent := event(nil)[0]
	tests := []struct {
		name       string
		history    []domain.Event // of the communication's own stream
		party      []domain.Event
		cmd        domain.SendCommunication
		want       []domain.Event
		wantCode   string
		wantFields []string
	}{
		{name: "under a plan entry: its channel, sent now", party: party, cmd: valid(nil), want: event(nil)},
		{name: "ad hoc, another channel, sent on a date", party: party,
			cmd: valid(func(c *domain.SendCommunication) {
				c.PlanEntryID, c.Channel, c.SentAt, c.EvidenceRef = nil, "meeting", "2025-05-20", ""
			}),
			want: event(func(e *domain.CommunicationSent) {
				e.PlanEntryID, e.Channel, e.SentAt, e.EvidenceRef = nil, "meeting", "2025-05-20T00:00:00Z", ""
			})},
		{name: "to a retired party", party: append(party, retiredA), cmd: valid(nil), want: event(nil)},

		{name: "already recorded", history: []domain.Event{sent}, party: party, cmd: valid(nil), wantCode: domain.ECONFLICT},
		{name: "unknown party", cmd: valid(func(c *domain.SendCommunication) { c.Channel = "email" }),
			wantCode: domain.EINVALID, wantFields: []string{"party_id"}},
		{name: "party missing", party: party,
			cmd:      valid(func(c *domain.SendCommunication) { c.PartyID = "" }),
			wantCode: domain.EINVALID, wantFields: []string{"party_id"}},
		{name: "plan entry not the party's", party: party,
			cmd:      valid(func(c *domain.SendCommunication) { c.PlanEntryID = ptr(idPEN) }),
			wantCode: domain.EINVALID, wantFields: []string{"plan_entry_id", "channel"}},
		{name: "ad hoc without a channel", party: party,
			cmd:      valid(func(c *domain.SendCommunication) { c.PlanEntryID = nil }),
			wantCode: domain.EINVALID, wantFields: []string{"channel"}},
		{name: "channel unknown", party: party,
			cmd:      valid(func(c *domain.SendCommunication) { c.Channel = "fax" }),
			wantCode: domain.EINVALID, wantFields: []string{"channel"}},
		{name: "sender and summary missing", party: party,
			cmd:      valid(func(c *domain.SendCommunication) { c.SentBy, c.Summary = "", "  " }),
			wantCode: domain.EINVALID, wantFields: []string{"sent_by", "summary"}},
		{name: "evidence on two lines, too long", party: party,
			cmd: valid(func(c *domain.SendCommunication) {
				c.EvidenceRef = strings.Repeat("e", domain.MaxEvidenceRefLen) + "\nx"
			}),
			wantCode: domain.EINVALID, wantFields: []string{"evidence_ref"}},
		{name: "sent in the future", party: party,
			cmd:      valid(func(c *domain.SendCommunication) { c.SentAt = "2025-06-05T00:00:00Z" }),
			wantCode: domain.EINVALID, wantFields: []string{"sent_at"}},
		{name: "sent at a malformed time", party: party,
			cmd:      valid(func(c *domain.SendCommunication) { c.SentAt = "yesterday" }),
			wantCode: domain.EINVALID, wantFields: []string{"sent_at"}},
		{name: "id not a UUID, actor missing", party: party,
			cmd:      valid(func(c *domain.SendCommunication) { c.CommunicationID, c.Actor = "c-1", "" }),
			wantCode: domain.EINVALID, wantFields: []string{"id", "actor"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &domain.Communication{}
			for _, e := range MustRoundTrip(t, tc.history...) {
				c.Apply(e)
			}
			got, err := c.Send(tc.cmd, MustFold(t, tc.party...), now)
			checkDecision(t, got, err, tc.want, tc.wantCode, tc.wantFields)
		})
	}
}

package domain

import "testing"

// FuzzDecodeObjective feeds arbitrary data to the event types of objectives,
// reviews and communications: folding whatever Decode accepts into an
// objective, a party and a communication never panics.
func FuzzDecodeObjective(f *testing.F) {
	f.Add(EventKPIMeasured, 1, []byte(`{"kpi_id":"k","measurement_id":"m","value":1.5,"corrects":"m0"}`))
	f.Add(EventObjectiveRevised, 1, []byte(`{"changes":{"requirement_ids":{"from":null,"to":["a",3]},"due":{"to":7}}}`))
	f.Add(EventKPIRevised, 1, []byte(`{"kpi_id":"k","changes":{"target":{"from":"x","to":"y"}}}`))
	f.Add(EventRequirementReviewed, 1, []byte(`{"requirement_id":"r","changes":{"review_due":{"to":null}}}`))
	f.Add(EventCommunicationPlanned, 1, []byte(`{"plan_entry_id":"e"}`))
	f.Fuzz(func(t *testing.T, typ string, schema int, data []byte) {
		e, err := Decode(typ, schema, data)
		if err != nil {
			if ErrorCode(err) != EINTERNAL {
				t.Fatalf("decode error code %q", ErrorCode(err))
			}
			return
		}
		o := &Objective{}
		o.Apply(ObjectiveSet{ObjectiveID: "o", Status: "planned"})
		o.Apply(KPIDefined{ObjectiveID: "o", KPIID: "k"})
		o.Apply(KPIMeasured{ObjectiveID: "o", KPIID: "k", MeasurementID: "m0"})
		o.Apply(e)
		p := &Party{}
		p.Apply(PartyIdentified{PartyID: "p", Name: "n"})
		p.Apply(RequirementIdentified{PartyID: "p", RequirementID: "r"})
		p.Apply(e)
		c := &Communication{}
		c.Apply(e)
	})
}

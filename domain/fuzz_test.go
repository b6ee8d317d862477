package domain

import "testing"

// FuzzDecode feeds arbitrary data to every event type: Decode never panics,
// and folding whatever it accepts never panics either.
func FuzzDecode(f *testing.F) {
	f.Add(EventPartyIdentified, 1, []byte(`{"party_id":"p","name":"n","influence":3}`))
	f.Add(EventPartyRevised, 1, []byte(`{"changes":{"influence":{"from":1,"to":"x"},"parent_id":{"from":null,"to":7}}}`))
	f.Add(EventRequirementAddressingDecided, 1, []byte(`{"addressed":true,"controls":["A.5.19"]}`))
	f.Add("nope", 2, []byte(`{}`))
	f.Fuzz(func(t *testing.T, typ string, schema int, data []byte) {
		e, err := Decode(typ, schema, data)
		if err != nil {
			if ErrorCode(err) != EINTERNAL {
				t.Fatalf("decode error code %q", ErrorCode(err))
			}
			return
		}
		p := &Party{}
		p.Apply(PartyIdentified{PartyID: "p", Name: "n"})
		p.Apply(RequirementIdentified{PartyID: "p", RequirementID: "r"})
		p.Apply(e)
		r := &ManagementReview{}
		r.Apply(e)
	})
}

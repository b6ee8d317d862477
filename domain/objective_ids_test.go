package domain_test

import "github.com/partyledger/partyledger/domain"

// Ids of objectives, KPIs, measurements, plan entries and communications in
// the tests of clauses 6.2 and 7.4.
const (
	idObj  domain.ObjectiveID     = "01975f2d-0000-7000-8000-000000000001" // the objective under test
	idObj2 domain.ObjectiveID     = "01975f2d-0000-7000-8000-000000000002" // a new objective
	idKPI  domain.KPIID           = "01975f2e-0000-7000-8000-000000000001" // availability >= 99.5 %
	idKPI2 domain.KPIID           = "01975f2e-0000-7000-8000-000000000002" // incidents = 0
	idKPIN domain.KPIID           = "01975f2e-0000-7000-8000-000000000010" // a new KPI
	idM1   domain.MeasurementID   = "01975f2f-0000-7000-8000-000000000001" // of idKPI
	idM2   domain.MeasurementID   = "01975f2f-0000-7000-8000-000000000002" // corrects idM1
	idM3   domain.MeasurementID   = "01975f2f-0000-7000-8000-000000000003" // of idKPI2
	idMN   domain.MeasurementID   = "01975f2f-0000-7000-8000-000000000010" // a new measurement
	idPE   domain.PlanEntryID     = "01975f30-0000-7000-8000-000000000001" // a plan entry of party A
	idPEN  domain.PlanEntryID     = "01975f30-0000-7000-8000-000000000010" // a new plan entry
	idCom  domain.CommunicationID = "01975f31-0000-7000-8000-000000000001"
)

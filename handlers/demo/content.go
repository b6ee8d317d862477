package demo

import "github.com/partyledger/partyledger/domain"

// The demo organisation: Northwind Cloud Ltd, a Dublin-based SaaS company
// of about 250 staff that hosts its platform with an IaaS provider in EU
// regions and processes its customers' personal data as a processor
// (GDPR Art. 28), and its own staff's data as a controller.

type party struct {
	key, name, category, scope, owner string
	influence, interest               int
	parent                            string // key of the parent party
	description                       string
}

var parties = []party{
	{key: "board", name: "Board of directors", category: "executive", scope: "internal", owner: "CEO",
		influence: 5, interest: 4,
		description: "Sets strategy and risk appetite; the audit and risk committee oversees information security."},
	{key: "leadership", name: "Executive leadership team", category: "executive", scope: "internal", owner: "CEO",
		influence: 5, interest: 5,
		description: "CEO, CTO, CFO, COO and CISO: top management in the sense of clause 5.1."},
	{key: "shareholders", name: "Shareholders and investors", category: "shareholder", scope: "internal", owner: "CFO",
		influence: 4, interest: 3,
		description: "Founders and two venture capital funds; represented on the board."},
	{key: "employees", name: "Employees", category: "employee", scope: "internal", owner: "Head of HR",
		influence: 3, interest: 4,
		description: "About 250 staff in Dublin and remote across the EU, including contractors with company accounts."},
	{key: PartyCustomers, name: "Customers", category: "customer", scope: "external", owner: "Head of Sales",
		influence: 5, interest: 5,
		description: "Enterprise customers of the Northwind platform; controllers of the personal data Northwind processes for them."},
	{key: PartyGovernmentCustomers, name: "Government customers", category: "government_customer", scope: "external",
		owner: "Head of Public Sector Sales", influence: 4, interest: 5, parent: PartyCustomers,
		description: "Public bodies buying through the public sector framework agreement; stricter security and exit terms."},
	{key: "dpa", name: "Data Protection Commission (lead supervisory authority)", category: "regulator", scope: "external",
		owner: "DPO", influence: 5, interest: 3,
		description: "Lead supervisory authority under the GDPR one-stop-shop for Northwind's EU main establishment."},
	{key: "nis2-authority", name: "National cybersecurity authority (NIS2)", category: "regulator", scope: "external",
		owner: "CISO", influence: 4, interest: 3,
		description: "Competent authority and CSIRT under the national transposition of NIS2; Northwind is a cloud computing service provider."},
	{key: "cloud-provider", name: "Cloud hosting provider (IaaS, EU regions)", category: "supplier", scope: "external",
		owner: "Head of Platform Engineering", influence: 4, interest: 2,
		description: "Hosts the production platform, backups and logging in two EU regions."},
	{key: "payflow", name: "PayFlow HR (payroll and HR SaaS)", category: "supplier", scope: "external",
		owner: "Head of HR", influence: 2, interest: 2,
		description: "Payroll and HR records for all employees; processor of employee personal data."},
	{key: "insurer", name: "Cyber insurer", category: "insurer", scope: "external", owner: "CFO",
		influence: 3, interest: 3,
		description: "Cyber liability and incident response cover; policy renewed every July."},
	{key: "certification-body", name: "Certification body (ISO/IEC 27001 auditor)", category: "auditor", scope: "external",
		owner: "ISMS manager", influence: 4, interest: 3,
		description: "Accredited certification body running the certification, surveillance and recertification audits."},
	{key: "landlord", name: "Office landlord (Dublin HQ)", category: "landlord", scope: "external", owner: "Facilities manager",
		influence: 2, interest: 2,
		description: "Owner and manager of the multi-tenant building; runs reception, access cards and building CCTV."},
	{key: "resellers", name: "Reseller partners", category: "partner", scope: "external", owner: "Head of Partnerships",
		influence: 3, interest: 3,
		description: "Value-added resellers in DACH and the Nordics who sell and support the platform."},
	{key: "researchers", name: "Security researchers", category: "community", scope: "external", owner: "CISO",
		influence: 2, interest: 3,
		description: "Independent researchers and bug bounty hunters who find and report vulnerabilities."},
}

type requirement struct {
	key, party, kind, title, description string
	sourceType, sourceRef                string
	owner, priority, reviewDue           string
}

const (
	req = "requirement"
	exp = "expectation"
)

var requirements = []requirement{
	// Board and top management.
	{key: "board-reporting", party: "board", kind: exp, title: "Quarterly information security risk reporting",
		description: "The audit and risk committee expects a quarterly report on top risks, incidents, audit results and ISMS objectives.",
		sourceType:  "policy", sourceRef: "Board charter §4.3", owner: "CISO", priority: "high", reviewDue: "2026-09-30"},
	{key: "board-certification", party: "board", kind: exp, title: "ISO/IEC 27001 certification maintained",
		description: "The certificate is a condition of most enterprise and public sector tenders; losing it is outside risk appetite.",
		sourceType:  "interview", sourceRef: "Board strategy session 2025-11-06", owner: "ISMS manager", priority: "critical", reviewDue: "2027-01-31"},
	{key: "leadership-continuity", party: "leadership", kind: exp, title: "Platform recovery within RTO 4 h and RPO 1 h",
		description: "The platform recovers from a regional outage within 4 hours, losing at most 1 hour of customer data.",
		sourceType:  "interview", sourceRef: "Business impact analysis workshop 2025-10-14", owner: "CTO", priority: "critical", reviewDue: "2026-10-31"},
	{key: "leadership-sales", party: "leadership", kind: exp, title: "Security supports enterprise and public sector sales",
		description: "Security questionnaires answered within 5 business days; current certificate and pen-test summary available to prospects.",
		sourceType:  "interview", sourceRef: "Executive offsite 2026-01-15", owner: "CISO", priority: "medium", reviewDue: "2026-07-31"},
	{key: "shareholders-disclosure", party: "shareholders", kind: exp, title: "Annual cyber risk disclosure to investors",
		description: "Investors receive an annual summary of material cyber risks, significant incidents and insurance cover.",
		sourceType:  "contract", sourceRef: "Shareholders' agreement §11.4 (information rights)", owner: "CFO", priority: "medium", reviewDue: "2026-12-31"},

	// Employees.
	{key: "employees-privacy", party: "employees", kind: req, title: "Protection of employee personal data",
		description: "HR, payroll, health and performance data is processed lawfully and protected; access is need-to-know.",
		sourceType:  "law", sourceRef: "GDPR Art. 5(1)(f), Art. 32", owner: "DPO", priority: "high", reviewDue: "2026-11-30"},
	{key: "employees-training", party: "employees", kind: exp, title: "Clear, practical security rules and training",
		description: "Staff ask for short, role-based guidance instead of one long annual course.",
		sourceType:  "survey", sourceRef: "Employee engagement survey 2025 Q4", owner: "Head of HR", priority: "medium", reviewDue: "2025-12-31"},
	{key: "employees-remote", party: "employees", kind: exp, title: "Secure remote and hybrid working",
		description: "Work from home and travel within the EU without VPN friction, on managed laptops.",
		sourceType:  "survey", sourceRef: "Employee engagement survey 2025 Q4", owner: "Head of IT", priority: "medium", reviewDue: "2026-06-30"},
	{key: "employees-whistleblowing", party: "employees", kind: req, title: "Confidential whistleblowing channel",
		description: "A reporting channel that protects the reporter's identity, with acknowledgement within 7 days.",
		sourceType:  "law", sourceRef: "Directive (EU) 2019/1937 Art. 9", owner: "General Counsel", priority: "medium", reviewDue: "2025-09-30"},

	// Customers.
	{key: "customers-security-of-processing", party: PartyCustomers, kind: req, title: "Security of processing of customer personal data",
		description: "Technical and organisational measures as listed in Annex 2 of the data processing agreement.",
		sourceType:  "contract", sourceRef: "DPA §5 (GDPR Art. 28(3)(c))", owner: "DPO", priority: "critical", reviewDue: "2026-11-30"},
	{key: "customers-breach-notification", party: PartyCustomers, kind: req, title: "Personal data breach notified to customers within 48 h",
		description: "Notify the controller without undue delay and at the latest 48 hours after becoming aware, with the Art. 33(3) details known so far.",
		sourceType:  "contract", sourceRef: "DPA §9.1 (GDPR Art. 33(2))", owner: "CISO", priority: "critical", reviewDue: "2026-11-30"},
	{key: "customers-availability", party: PartyCustomers, kind: req, title: "Monthly platform availability of 99.9 %",
		description: "Excluding announced maintenance windows; service credits apply below target.",
		sourceType:  "sla", sourceRef: "SLA 99.9% availability", owner: "Head of SRE", priority: "critical", reviewDue: "2026-12-31"},
	{key: "customers-eu-hosting", party: PartyCustomers, kind: req, title: "Customer data stored and processed in the EU",
		description: "Production data, backups and logs stay in EU regions; no remote access from outside the EU/EEA without consent.",
		sourceType:  "contract", sourceRef: "MSA §7.2", owner: "CTO", priority: "high", reviewDue: "2027-03-31"},
	{key: "customers-audit-rights", party: PartyCustomers, kind: req, title: "Annual security evidence and audit rights",
		description: "Provide the ISO/IEC 27001 certificate, Statement of Applicability extract and pen-test summary yearly; on-site audit on 30 days' notice.",
		sourceType:  "contract", sourceRef: "MSA §12 (audit rights)", owner: "CISO", priority: "medium", reviewDue: "2026-09-30"},
	{key: "customers-subprocessors", party: PartyCustomers, kind: req, title: "Sub-processor changes announced 30 days in advance",
		description: "Customers may object to a new sub-processor; the list is published in the trust centre.",
		sourceType:  "contract", sourceRef: "DPA §6.3 (GDPR Art. 28(2))", owner: "DPO", priority: "high", reviewDue: "2026-06-30"},
	{key: "customers-encryption", party: PartyCustomers, kind: req, title: "Encryption of customer data at rest and in transit",
		description: "AES-256 at rest, TLS 1.2 or later in transit, keys managed in a KMS with rotation.",
		sourceType:  "contract", sourceRef: "MSA Schedule 3 (Security) §2", owner: "Head of Platform Engineering", priority: "high", reviewDue: "2027-02-28"},
	{key: "customers-sso", party: PartyCustomers, kind: exp, title: "SSO and enforced MFA for customer administrators",
		description: "Enterprise customers want SAML/OIDC single sign-on and the option to enforce MFA for their admin users.",
		sourceType:  "feedback", sourceRef: "Customer advisory board 2025-11-20", owner: "Head of Product", priority: "medium", reviewDue: "2026-05-31"},

	// Government customers.
	{key: "gov-pentest", party: PartyGovernmentCustomers, kind: req, title: "Annual independent penetration test",
		description: "CREST-accredited test of the platform every 12 months; high findings fixed within 30 days, summary shared.",
		sourceType:  "contract", sourceRef: "Public sector framework agreement §9.4", owner: "CISO", priority: "high", reviewDue: "2026-10-31"},
	{key: "gov-screening", party: PartyGovernmentCustomers, kind: req, title: "Screening of staff with access to government data",
		description: "Identity, right-to-work and criminal record checks before access; re-check every 3 years.",
		sourceType:  "contract", sourceRef: "Public sector framework agreement §9.7", owner: "Head of HR", priority: "high", reviewDue: "2026-08-31"},
	{key: "gov-exit", party: PartyGovernmentCustomers, kind: req, title: "Data return and certified deletion at contract end",
		description: "Export in an open format within 30 days of termination, then deletion with a certificate.",
		sourceType:  "contract", sourceRef: "Public sector framework agreement §15.2", owner: "DPO", priority: "medium", reviewDue: "2027-01-31"},

	// Data protection authority.
	{key: "dpa-art32", party: "dpa", kind: req, title: "Appropriate technical and organisational measures",
		description: "Security appropriate to the risk, including pseudonymisation and encryption, resilience, restore and regular testing.",
		sourceType:  "law", sourceRef: "GDPR Art. 32", owner: "DPO", priority: "critical", reviewDue: "2026-11-30"},
	{key: "dpa-art33", party: "dpa", kind: req, title: "Personal data breach notified within 72 h",
		description: "As controller (staff and prospect data), notify the supervisory authority within 72 hours of becoming aware, and document every breach.",
		sourceType:  "law", sourceRef: "GDPR Art. 33", owner: "DPO", priority: "critical", reviewDue: "2026-11-30"},
	{key: "dpa-ropa", party: "dpa", kind: req, title: "Records of processing activities",
		description: "Keep records as controller and as processor, available to the authority on request.",
		sourceType:  "law", sourceRef: "GDPR Art. 30", owner: "DPO", priority: "medium", reviewDue: "2025-11-30"},
	{key: "dpa-transfers", party: "dpa", kind: req, title: "Lawful international transfers",
		description: "Standard contractual clauses and transfer impact assessments for every sub-processor with access from outside the EEA.",
		sourceType:  "law", sourceRef: "GDPR Art. 44–46", owner: "DPO", priority: "high", reviewDue: "2026-06-30"},

	// NIS2 authority.
	{key: "nis2-art21", party: "nis2-authority", kind: req, title: "Cybersecurity risk-management measures",
		description: "Measures of Art. 21(2) a)–j): risk analysis, incident handling, continuity, supply chain, secure development, effectiveness, hygiene and training, cryptography, HR and access control, MFA. National transposition pending.",
		sourceType:  "regulation", sourceRef: "NIS2 Art. 21 (Directive (EU) 2022/2555)", owner: "CISO", priority: "medium", reviewDue: "2025-12-31"},
	{key: "nis2-art23", party: "nis2-authority", kind: req, title: "Significant incidents reported in stages",
		description: "Early warning within 24 hours, incident notification within 72 hours, final report within one month.",
		sourceType:  "regulation", sourceRef: "NIS2 Art. 23", owner: "CISO", priority: "high", reviewDue: "2026-06-30"},
	{key: "nis2-art20", party: "nis2-authority", kind: req, title: "Management body approves measures and is trained",
		description: "The management body approves the risk-management measures, oversees them and follows cybersecurity training.",
		sourceType:  "regulation", sourceRef: "NIS2 Art. 20", owner: "CEO", priority: "high", reviewDue: "2026-06-30"},

	// Cloud hosting provider.
	{key: "cloud-shared-responsibility", party: "cloud-provider", kind: req, title: "Shared responsibility for cloud security",
		description: "The provider secures the cloud; Northwind secures its workloads, identities, configuration and data in it.",
		sourceType:  "contract", sourceRef: "Cloud customer agreement §4; shared responsibility model", owner: "Head of Platform Engineering", priority: "high", reviewDue: "2026-09-30"},
	{key: "cloud-aup", party: "cloud-provider", kind: req, title: "Acceptable use and permitted security testing",
		description: "Security testing only of permitted services; no testing that could affect other tenants.",
		sourceType:  "policy", sourceRef: "Provider acceptable use policy; penetration testing policy", owner: "CISO", priority: "low", reviewDue: "2027-06-30"},
	{key: "cloud-contacts", party: "cloud-provider", kind: exp, title: "Security and abuse contacts kept current",
		description: "The provider expects a monitored security contact for abuse reports and incident notices.",
		sourceType:  "contract", sourceRef: "Cloud customer agreement §9", owner: "Head of Platform Engineering", priority: "low", reviewDue: "2025-10-31"},

	// PayFlow HR.
	{key: "payflow-dpa", party: "payflow", kind: req, title: "Data processing agreement for employee data",
		description: "PayFlow processes payroll data only on documented instructions and keeps its ISO/IEC 27001 certificate current.",
		sourceType:  "contract", sourceRef: "PayFlow DPA §3 (GDPR Art. 28)", owner: "Head of HR", priority: "medium", reviewDue: "2026-04-30"},

	// Cyber insurer.
	{key: "insurer-mfa", party: "insurer", kind: req, title: "MFA on remote access, email and privileged accounts",
		description: "A condition of cover: phishing-resistant or app-based MFA everywhere remote or privileged access is possible.",
		sourceType:  "contract", sourceRef: "Cyber policy CY-2025-0412, condition 6.1", owner: "CISO", priority: "high", reviewDue: "2026-07-01"},
	{key: "insurer-backups", party: "insurer", kind: req, title: "Immutable backups tested quarterly",
		description: "Offline or immutable copies of production data, restore-tested every quarter.",
		sourceType:  "contract", sourceRef: "Cyber policy CY-2025-0412, condition 6.3", owner: "Head of Platform Engineering", priority: "high", reviewDue: "2026-07-01"},
	{key: "insurer-notification", party: "insurer", kind: req, title: "Insurer notified before engaging incident responders",
		description: "Call the breach hotline first; use panel forensics and legal firms for cover to apply.",
		sourceType:  "contract", sourceRef: "Cyber policy CY-2025-0412 §8 (claims conditions)", owner: "CFO", priority: "high", reviewDue: "2026-07-01"},

	// Certification body.
	{key: "cb-conformity", party: "certification-body", kind: req, title: "Conformity with ISO/IEC 27001:2022 clauses 4 to 10",
		description: "The ISMS meets every requirement of clauses 4–10 and the Statement of Applicability is justified.",
		sourceType:  "standard", sourceRef: "ISO/IEC 27001:2022", owner: "ISMS manager", priority: "critical", reviewDue: "2027-03-31"},
	{key: "cb-transition", party: "certification-body", kind: req, title: "Transition to ISO/IEC 27001:2022 by 2025-10-31",
		description: "Certificates against the 2013 edition expire on 31 October 2025.",
		sourceType:  "standard", sourceRef: "IAF MD 26:2023", owner: "ISMS manager", priority: "high", reviewDue: "2025-10-31"},
	{key: "cb-nonconformities", party: "certification-body", kind: req, title: "Nonconformities corrected within agreed timescales",
		description: "Corrective action plans within 30 days of the audit report; major nonconformities closed before the certificate decision.",
		sourceType:  "contract", sourceRef: "Certification agreement §5.4 (ISO/IEC 17021-1)", owner: "ISMS manager", priority: "medium", reviewDue: "2026-11-30"},

	// Landlord.
	{key: "landlord-access", party: "landlord", kind: req, title: "Building access and visitor rules followed",
		description: "Access cards are personal, visitors are registered at reception, lost cards reported the same day.",
		sourceType:  "contract", sourceRef: "Lease §14 (building rules)", owner: "Facilities manager", priority: "low", reviewDue: "2027-04-30"},
	{key: "landlord-fire-safety", party: "landlord", kind: req, title: "Fire safety and building regulations",
		description: "Fire wardens, evacuation drills twice a year, no obstruction of escape routes.",
		sourceType:  "contract", sourceRef: "Lease §16 (health and safety)", owner: "Facilities manager", priority: "medium", reviewDue: "2026-10-31"},

	// Reseller partners.
	{key: "resellers-confidentiality", party: "resellers", kind: req, title: "Confidentiality of deal registrations and leads",
		description: "Partner deal registrations and prospect data are visible only to the partner's channel manager.",
		sourceType:  "contract", sourceRef: "Partner agreement §8 (confidentiality)", owner: "Head of Partnerships", priority: "medium", reviewDue: "2026-09-30"},
	{key: "resellers-documentation", party: "resellers", kind: exp, title: "Current security documentation for resale",
		description: "Partners want the certificate, trust centre access and questionnaire answers they can pass on.",
		sourceType:  "interview", sourceRef: "Partner summit 2025-06-12", owner: "Head of Partnerships", priority: "low", reviewDue: "2025-09-30"},

	// Security researchers.
	{key: "researchers-disclosure", party: "researchers", kind: exp, title: "Coordinated vulnerability disclosure with safe harbour",
		description: "A published policy and security.txt, acknowledgement within 3 business days, no legal action against good-faith research.",
		sourceType:  "benchmark", sourceRef: "ISO/IEC 29147; RFC 9116", owner: "CISO", priority: "medium", reviewDue: "2027-02-28"},
}

type decision struct {
	req       string
	addressed *bool
	rationale string
	treatment string
	controls  []string
}

// decisions are the clause 4.2 c) decisions taken before the review. The
// requirements not listed are not yet decided.
var decisions = []decision{
	{req: "board-reporting", addressed: yes(), rationale: "Top management commitment, clause 5.1 and 9.3.",
		treatment: "Quarterly ISMS report to the audit and risk committee, prepared by the CISO.",
		controls:  []string{"A.5.1", "A.5.4"}},
	{req: "board-certification", addressed: yes(), rationale: "The ISMS itself is the treatment.",
		treatment: "ISMS programme with internal audit, management review and corrective action.",
		controls:  []string{"A.5.35", "A.5.36"}},
	{req: "leadership-continuity", addressed: yes(), rationale: "Availability of customer services is in ISMS scope.",
		treatment: "Multi-region failover runbook, tested twice a year; point-in-time database recovery.",
		controls:  []string{"A.5.29", "A.5.30", "A.8.13", "A.8.14"}},
	{req: "employees-privacy", addressed: yes(), rationale: "Personal data of staff is an information asset in scope.",
		treatment: "Role-based access to HR systems, quarterly access review, encryption of HR exports.",
		controls:  []string{"A.5.15", "A.5.34", "A.8.3"}},
	{req: "employees-training", addressed: yes(), rationale: "Awareness is a clause 7.3 requirement.",
		treatment: "Monthly 10-minute micro-modules by role; phishing simulations each quarter.",
		controls:  []string{"A.6.3", "A.5.10"}},
	{req: "customers-security-of-processing", addressed: yes(), rationale: "Core purpose of the ISMS.",
		treatment: "Controls of DPA Annex 2 mapped to the Statement of Applicability; yearly review with the DPO.",
		controls:  []string{"A.5.15", "A.5.34", "A.8.15", "A.8.24"}},
	{req: "customers-breach-notification", addressed: yes(), rationale: "Contractual obligation with regulatory consequences.",
		treatment: "Incident response plan with a privacy triage step and customer notification templates.",
		controls:  []string{"A.5.24", "A.5.26", "A.6.8"}},
	{req: "customers-availability", addressed: yes(), rationale: "Availability is one of the ISMS objectives.",
		treatment: "SLOs with error budgets, capacity planning, redundant zones, 24/7 on-call.",
		controls:  []string{"A.8.6", "A.8.14", "A.8.16", "A.5.30"}},
	{req: "customers-eu-hosting", addressed: yes(), rationale: "Contractual data location commitment.",
		treatment: "Organisation policy that denies resources outside EU regions; access from outside the EEA blocked.",
		controls:  []string{"A.5.23", "A.5.31", "A.8.20"}},
	{req: "customers-subprocessors", addressed: yes(), rationale: "Supplier security is in scope.",
		treatment: "Supplier onboarding with security review; sub-processor list in the trust centre with change notices.",
		controls:  []string{"A.5.19", "A.5.20", "A.5.22"}},
	{req: "customers-encryption", addressed: yes(), rationale: "Contractual security schedule.",
		treatment: "KMS-managed keys with yearly rotation; TLS policy enforced at the load balancers.",
		controls:  []string{"A.8.24"}},
	{req: "gov-pentest", addressed: yes(), rationale: "Also required by our own vulnerability management policy.",
		treatment: "Annual external test each October; findings tracked in the vulnerability register.",
		controls:  []string{"A.8.8", "A.8.29"}},
	{req: "dpa-art32", addressed: yes(), rationale: "Legal obligation central to the ISMS.",
		treatment: "Risk assessment covers personal data; controls listed in the SoA.",
		controls:  []string{"A.5.34", "A.8.5", "A.8.13", "A.8.24"}},
	{req: "dpa-art33", addressed: yes(), rationale: "Legal obligation; shares the incident process with the customer notification.",
		treatment: "DPO on the incident bridge for every suspected personal data breach; breach register.",
		controls:  []string{"A.5.24", "A.5.26", "A.5.34"}},
	{req: "nis2-art21", addressed: yes(), rationale: "NIS2 measures largely overlap with Annex A; gap analysis done 2025-09.",
		treatment: "NIS2 gap analysis mapped to the SoA; remaining gaps in the risk treatment plan.",
		controls:  []string{"A.5.19", "A.5.21", "A.5.24", "A.5.29", "A.6.3", "A.8.8", "A.8.24"}},
	{req: "cloud-shared-responsibility", addressed: yes(), rationale: "Cloud use is in scope.",
		treatment: "Cloud security baseline, infrastructure as code, configuration drift detection.",
		controls:  []string{"A.5.23", "A.8.9", "A.8.2"}},
	{req: "payflow-dpa", addressed: yes(), rationale: "Supplier processing personal data.",
		treatment: "Signed DPA; yearly check of the supplier's certificate.",
		controls:  []string{"A.5.19", "A.5.20", "A.5.34"}},
	{req: "insurer-mfa", addressed: yes(), rationale: "Condition of cover and a control we need anyway.",
		treatment: "MFA enforced by the identity provider on all workforce and privileged accounts.",
		controls:  []string{"A.8.5", "A.5.17", "A.8.2"}},
	{req: "insurer-backups", addressed: yes(), rationale: "Condition of cover; supports RPO.",
		treatment: "Immutable backup vault in a second account; quarterly restore tests.",
		controls:  []string{"A.8.13"}},
	{req: "cb-conformity", addressed: yes(), rationale: "The certification scope is the ISMS.",
		treatment: "Internal audit programme covering clauses 4–10 and all applicable controls over three years.",
		controls:  []string{"A.5.35", "A.5.36"}},
	{req: "cb-transition", addressed: yes(), rationale: "Needed to keep the certificate.",
		treatment: "Transition audit during the 2025 surveillance audit; SoA updated to the 93 controls of the 2022 edition.",
		controls:  []string{"A.5.35"}},
	{req: "landlord-access", addressed: yes(), rationale: "Physical entry to the office is in scope.",
		treatment: "Access card policy aligned with the building rules; visitor log at our floor.",
		controls:  []string{"A.7.2"}},
	{req: "landlord-fire-safety", addressed: no(),
		rationale: "Handled by the health and safety programme (Facilities), not through the ISMS; the information security side is already covered by A.7.5."},
	{req: "researchers-disclosure", addressed: yes(), rationale: "Vulnerability intake is part of vulnerability management.",
		treatment: "Published disclosure policy, security.txt, triage by the product security team.",
		controls:  []string{"A.8.8", "A.5.6"}},
}

var review = struct {
	title     string
	attendees []string
	notes     string
}{
	title:     "ISMS management review Q1 2026",
	attendees: []string{"CEO", "CTO", "CFO", "COO", "CISO", "DPO", "ISMS manager", "Head of HR"},
	notes: "Inputs per clause 9.3.2: status of actions from the 2025 review; external and internal issues; " +
		"changes in needs and expectations of interested parties (register reviewed, 15 parties); " +
		"audit results (2025 surveillance and transition audit: 2 minor nonconformities, closed); " +
		"incidents (4, none notifiable); objectives (availability 99.95 %, training completion 93 %).\n" +
		"Decisions: MR-1 prepare for the national NIS2 act; MR-2 re-assess cloud concentration risk; " +
		"MR-3 decide how security supports sales; MR-4 review payroll supplier after the internal audit.",
}

// changesAfterReview is act three: what changed after the review, so that
// the clause 9.3.2 c) feed for the next review is not empty.
func (l *loader) changesAfterReview() error {
	// MR-3, decided right after the review.
	if err := l.decide(decision{req: "leadership-sales", addressed: yes(),
		rationale: "Agreed at the Q1 2026 management review (action MR-3).",
		treatment: "Trust centre with certificate, SoA extract and pen-test summary; questionnaire answer library owned by the CISO office.",
		controls:  []string{"A.5.31", "A.5.36"}},
		"Management review 2026-03-12, action MR-3", "management_review"); err != nil {
		return err
	}

	// The national NIS2 act is adopted.
	if err := l.reviseRequirement(domain.ReviseRequirement{
		Meta:        l.meta("National act transposing NIS2 adopted; Northwind confirmed as an important entity (cloud computing service provider). Supervision starts within 12 months.", "regulatory_change"),
		Description: ptr("Measures of Art. 21(2) a)–j) as transposed by the national act: risk analysis, incident handling, continuity, supply chain, secure development, effectiveness, hygiene and training, cryptography, HR and access control, MFA."),
		SourceRef:   ptr("NIS2 Art. 21; national NIS2 transposition act 2026"),
		Priority:    ptr("critical"),
		ReviewDue:   ptr("2027-03-31"),
	}, "nis2-art21"); err != nil {
		return err
	}
	if err := l.decide(decision{req: "nis2-art23", addressed: yes(),
		rationale: "Reporting duties now apply under the national act.",
		treatment: "Incident classification extended with the NIS2 significance criteria; 24 h early warning and 72 h notification templates.",
		controls:  []string{"A.5.5", "A.5.24", "A.5.25", "A.5.26"}},
		"National NIS2 act adopted: staged incident reporting applies from registration", "regulatory_change"); err != nil {
		return err
	}

	// A financial services customer's contract amendment.
	if err := l.identifyRequirement(requirement{key: "customers-dora", party: PartyCustomers, kind: req,
		title:       "Support customers' DORA ICT third-party obligations",
		description: "Financial entity customers require the contractual provisions of DORA Art. 30: service levels, incident assistance, audit and access rights, exit strategy, participation in their resilience testing.",
		sourceType:  "contract", sourceRef: "MSA amendment 2026-02, §7.9 (DORA Art. 30)", owner: "General Counsel", priority: "high", reviewDue: "2027-01-31"},
		"Three financial services customers signed the DORA amendment of the MSA", "contract_change"); err != nil {
		return err
	}

	// An incident shows the customer notification path is too slow.
	if err := l.decide(decision{req: "customers-breach-notification", addressed: yes(),
		rationale: "Contractual obligation with regulatory consequences; process strengthened after INC-2026-007.",
		treatment: "Incident response plan with a privacy triage step within 4 hours of detection, a privacy lead on call 24/7, pre-approved customer notification templates and a 36-hour internal deadline.",
		controls:  []string{"A.5.24", "A.5.25", "A.5.26", "A.5.27", "A.6.8"}},
		"INC-2026-007: a misdirected report export reached the wrong customer tenant; the affected customer was notified 61 h after detection, beyond the 48 h of DPA §9.1", "incident"); err != nil {
		return err
	}

	// Customers ask for audit log export.
	if err := l.identifyRequirement(requirement{key: "customers-siem-export", party: PartyCustomers, kind: exp,
		title:       "Audit log export to customers' SIEM",
		description: "Administrators want platform audit logs streamed to their own SIEM (syslog or HTTPS) to meet their monitoring duties.",
		sourceType:  "feedback", sourceRef: "Customer advisory board 2026-04-16; 23 support tickets", owner: "Head of Product", priority: "medium", reviewDue: "2026-10-31"},
		"Raised by 6 of 9 enterprise customers at the advisory board", "customer_feedback"); err != nil {
		return err
	}

	// The transition requirement has been met.
	if err := l.retireRequirement("cb-transition",
		"Transition completed in the 2025 surveillance audit; certificate reissued against ISO/IEC 27001:2022. Nothing left to do.", "periodic_review"); err != nil {
		return err
	}

	// MR-2: cloud concentration risk re-assessed.
	if err := l.reviseParty(domain.ReviseParty{
		Meta:      l.meta("Risk assessment RA-2026-04 (action MR-2): the whole platform depends on one provider; concentration risk rated high, provider now monitored monthly.", "risk_assessment"),
		Influence: ptr(5), Interest: ptr(3),
	}, "cloud-provider"); err != nil {
		return err
	}

	// MR-4: the payroll supplier is replaced.
	if err := l.retireParty("payflow",
		"Internal audit IA-2026-02 found PayFlow's ISO/IEC 27001 certificate lapsed and no SOC 2 report; contract terminated, payroll moved to Pebble Payroll on 2026-05-31.", "audit_finding"); err != nil {
		return err
	}
	if err := l.identifyParty(party{key: "pebble-payroll", name: "Pebble Payroll (payroll and HR SaaS)", category: "supplier",
		scope: "external", owner: "Head of HR", influence: 2, interest: 2,
		description: "Payroll and HR records for all employees from June 2026; processor of employee personal data, EU hosting."},
		"Replaces PayFlow HR after internal audit IA-2026-02", "audit_finding"); err != nil {
		return err
	}
	if err := l.identifyRequirement(requirement{key: "pebble-dpa", party: "pebble-payroll", kind: req,
		title:       "Data processing agreement for employee data",
		description: "Pebble processes payroll data only on documented instructions, in the EU, and provides its ISO/IEC 27001 certificate yearly.",
		sourceType:  "contract", sourceRef: "Pebble DPA §4 (GDPR Art. 28)", owner: "Head of HR", priority: "medium", reviewDue: "2027-05-31"},
		"Supplier onboarding of Pebble Payroll", "contract_change"); err != nil {
		return err
	}
	return l.decide(decision{req: "pebble-dpa", addressed: yes(), rationale: "Supplier processing personal data.",
		treatment: "Signed DPA; supplier security review passed 2026-05-12; yearly certificate check.",
		controls:  []string{"A.5.19", "A.5.20", "A.5.34"}},
		"Supplier onboarding of Pebble Payroll", "contract_change")
}

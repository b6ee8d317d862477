package domain

// Event types of management reviews, their actions and the settings. They
// are stored with every event: never rename one.
const (
	EventManagementReviewCorrected = "management_review.corrected"
	EventManagementReviewVoided    = "management_review.voided"
	EventReviewActionCompleted     = "review_action.completed"
	EventReviewActionCancelled     = "review_action.cancelled"
	EventSettingsChanged           = "settings.changed"
)

// ManagementReviewCorrected records corrected fields of a review
// (changes: held_on, title, attendees, notes, considered_from,
// considered_to, decisions).
type ManagementReviewCorrected struct {
	ReviewID ReviewID `json:"review_id"`
	Changes  Changes  `json:"changes"`
}

// ManagementReviewVoided records that a review was recorded in error. It
// stays in history but no longer bounds a window.
type ManagementReviewVoided struct {
	ReviewID ReviewID `json:"review_id"`
	Changes  Changes  `json:"changes"`
}

// ReviewActionCompleted records that an action of a review was done.
type ReviewActionCompleted struct {
	ActionID ActionID `json:"action_id"`
	ReviewID ReviewID `json:"review_id"`
	Evidence string   `json:"evidence"`
	Changes  Changes  `json:"changes"`
}

// ReviewActionCancelled records that an action of a review will not be done.
type ReviewActionCancelled struct {
	ActionID ActionID `json:"action_id"`
	ReviewID ReviewID `json:"review_id"`
	Changes  Changes  `json:"changes"`
}

// SettingsChanged records changed settings (changes: org_name).
type SettingsChanged struct {
	Changes Changes `json:"changes"`
}

func (ManagementReviewCorrected) EventType() string { return EventManagementReviewCorrected }
func (ManagementReviewVoided) EventType() string    { return EventManagementReviewVoided }
func (ReviewActionCompleted) EventType() string     { return EventReviewActionCompleted }
func (ReviewActionCancelled) EventType() string     { return EventReviewActionCancelled }
func (SettingsChanged) EventType() string           { return EventSettingsChanged }

// The review outputs' events, registered in the one event registry.
var _ = RegisterEvents(
	Def[ManagementReviewCorrected](), Def[ManagementReviewVoided](),
	Def[ReviewActionCompleted](), Def[ReviewActionCancelled](), Def[SettingsChanged](),
)

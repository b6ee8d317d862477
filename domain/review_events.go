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
// considered_to, decisions, actions). A correction that adds actions lists
// them in ActionsAdded; one that removes actions names them in
// ActionsRemoved, and each of those is cancelled by a
// review_action.cancelled in its own stream, appended atomically with it.
// Both are absent from corrections recorded before actions could be
// corrected.
type ManagementReviewCorrected struct {
	ReviewID       ReviewID           `json:"review_id"`
	Changes        Changes            `json:"changes"`
	ActionsAdded   []ReviewActionItem `json:"actions_added,omitempty"`
	ActionsRemoved []ActionID         `json:"actions_removed,omitempty"`
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

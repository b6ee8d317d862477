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

// reviewEventTypes are the event types of this file, in EventTypes order.
var reviewEventTypes = []string{EventManagementReviewCorrected, EventManagementReviewVoided,
	EventReviewActionCompleted, EventReviewActionCancelled, EventSettingsChanged}

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

// newReviewEvent returns a pointer to decode eventType into, or nil when
// the type is not one of this file's.
func newReviewEvent(eventType string) Event {
	switch eventType {
	case EventManagementReviewCorrected:
		return &ManagementReviewCorrected{}
	case EventManagementReviewVoided:
		return &ManagementReviewVoided{}
	case EventReviewActionCompleted:
		return &ReviewActionCompleted{}
	case EventReviewActionCancelled:
		return &ReviewActionCancelled{}
	case EventSettingsChanged:
		return &SettingsChanged{}
	}
	return nil
}

// derefReviewEvent is deref for this file's events.
func derefReviewEvent(e Event) Event {
	switch v := e.(type) {
	case *ManagementReviewCorrected:
		return *v
	case *ManagementReviewVoided:
		return *v
	case *ReviewActionCompleted:
		return *v
	case *ReviewActionCancelled:
		return *v
	case *SettingsChanged:
		return *v
	}
	return e
}

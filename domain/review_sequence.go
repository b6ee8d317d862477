package domain

// The review sequence. The default window of a management review and the
// late-review rule depend on the other reviews (the latest held_on and its
// considered_to), which the application reads just before deciding. So that
// two reviews recorded at the same time cannot both decide on the same
// latest review, in one process or in two sharing one store, every
// recording appends a [ReviewSequenced] to one stream,
// [ReviewSequenceStream], at the version it read before deciding, in the
// same atomic append as the review: the store lets one through and refuses
// the other, which is then decided again on what the first recorded.
const EventReviewSequenced = "review.sequenced"

var _ = RegisterEvents(InternalDef[ReviewSequenced]())

// ReviewSequenced records that a review was recorded after the ones before
// it in [ReviewSequenceStream].
type ReviewSequenced struct {
	ReviewID ReviewID `json:"review_id"`
}

func (ReviewSequenced) EventType() string { return EventReviewSequenced }

// ReviewSequenceStream is the one stream that orders the recording of
// management reviews.
const ReviewSequenceStream = "sequence-reviews"

// ReviewSequence is the state of [ReviewSequenceStream]: only its version
// matters.
type ReviewSequence struct {
	Version int64
}

// Apply folds one event of the sequence.
func (s *ReviewSequence) Apply(Event) { s.Version++ }

// Sequence returns the event that records review in the sequence.
func (s *ReviewSequence) Sequence(review ReviewID) []Event {
	return []Event{ReviewSequenced{ReviewID: review}}
}

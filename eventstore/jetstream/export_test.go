package jetstream

// SendTwice makes the next n publishes of s first go out once without a
// reply subject: as if an earlier attempt had been stored and its answer
// lost.
func SendTwice(s *Store, n int32) { s.testSendTwice.Store(n) }

// LoseAnswers makes s drop the next n publish answers it receives: the
// message is stored, the caller sees a timeout.
func LoseAnswers(s *Store, n int32) { s.testLoseAnswers.Store(n) }

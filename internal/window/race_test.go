//go:build race

package window

// raceDetector is true when the tests run with -race.
const raceDetector = true

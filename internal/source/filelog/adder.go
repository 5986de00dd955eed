package filelog

import (
	"github.com/threat-intel/threat-intel/internal/filterlog"
	"github.com/threat-intel/threat-intel/internal/window"
)

// batchSize is the number of events handed to the adding goroutine at a
// time: about 240 KB of events, large enough that the channel costs nothing
// per line.
const batchSize = 1024

// adder adds events to a window on its own goroutine, so that parsing, on
// the reading goroutine, and counting run on two cores. Three batches
// circulate: one being filled, the others queued or being added.
type adder struct {
	w       *window.Window
	current []filterlog.Event
	queued  chan []filterlog.Event
	free    chan []filterlog.Event
	done    chan struct{}
}

func newAdder(w *window.Window) *adder {
	a := &adder{
		w:       w,
		current: make([]filterlog.Event, 0, batchSize),
		queued:  make(chan []filterlog.Event, 2),
		// After close queues the last batch, all three batches come back
		// here, so run must find room for each of them.
		free: make(chan []filterlog.Event, 3),
		done: make(chan struct{}),
	}
	for range 2 {
		a.free <- make([]filterlog.Event, 0, batchSize)
	}
	go a.run()
	return a
}

func (a *adder) run() {
	defer close(a.done)
	for batch := range a.queued {
		for i := range batch {
			a.w.Add(&batch[i])
		}
		a.free <- batch[:0]
	}
}

// add copies ev into the current batch. The parser interns an event's
// strings, so the copy stays valid after the parser reuses ev.
func (a *adder) add(ev *filterlog.Event) {
	a.current = append(a.current, *ev)
	if len(a.current) == batchSize {
		a.queued <- a.current
		a.current = <-a.free
	}
}

// close adds the remaining events and waits until every event is in the
// window. The adder must not be used afterwards.
func (a *adder) close() {
	if len(a.current) > 0 {
		a.queued <- a.current
	}
	close(a.queued)
	<-a.done
}

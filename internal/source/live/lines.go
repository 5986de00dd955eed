package live

import "bytes"

// lineSplitter cuts a growing file's bytes into lines. It holds the
// unfinished last line until its LF arrives, at most maxLen+1 bytes of it, so
// a line without an end never grows memory.
type lineSplitter struct {
	maxLen  int
	partial []byte
	// discarding is true after an unfinished line grew over maxLen: it was
	// counted as too long and its bytes are dropped up to the next LF.
	discarding bool
}

// write splits data into lines and calls emit for each complete one,
// without its LF or CR LF ending, or with tooLong for a line over maxLen.
// The line is only valid during the call.
func (l *lineSplitter) write(data []byte, emit func(line []byte, tooLong bool)) {
	for len(data) > 0 {
		chunk := data
		complete := false
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			chunk, data = data[:i], data[i+1:]
			complete = true
		} else {
			data = nil
		}

		if l.discarding {
			l.discarding = !complete
			continue
		}
		// One byte over maxLen may be the CR of a CR LF ending.
		if len(l.partial)+len(chunk) > l.maxLen+1 {
			emit(nil, true)
			l.partial = l.partial[:0]
			l.discarding = !complete
			continue
		}
		if !complete {
			l.partial = append(l.partial, chunk...)
			continue
		}

		line := chunk
		if len(l.partial) > 0 {
			l.partial = append(l.partial, chunk...)
			line = l.partial
		}
		l.emitLine(line, emit)
		l.partial = l.partial[:0]
	}
}

// flush emits the unfinished last line, for a file that will not grow any
// more.
func (l *lineSplitter) flush(emit func(line []byte, tooLong bool)) {
	if len(l.partial) > 0 && !l.discarding {
		l.emitLine(l.partial, emit)
	}
	l.reset()
}

// reset drops the unfinished line, for a file read again from its start.
func (l *lineSplitter) reset() {
	l.partial = l.partial[:0]
	l.discarding = false
}

func (l *lineSplitter) emitLine(line []byte, emit func([]byte, bool)) {
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if len(line) > l.maxLen {
		emit(nil, true)
		return
	}
	emit(line, false)
}

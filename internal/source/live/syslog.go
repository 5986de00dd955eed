package live

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/threat-intel/threat-intel/internal/filterlog"
)

// maxDatagram is 64 KiB, more than the largest UDP payload: 65,507 bytes
// over IPv4 and 65,527 over IPv6 without jumbograms.
const maxDatagram = 64 << 10

// udpReadBuffer is the socket receive buffer asked for, so that a burst of
// datagrams is queued instead of dropped while a snapshot holds up the
// window. The kernel may grant less (net.core.rmem_max on Linux).
const udpReadBuffer = 4 << 20

// logInterval is the least time between two log messages about the same
// kind of network problem.
const logInterval = time.Minute

// errTooLong is the skip error of a line or message over the maximum length.
var errTooLong = &filterlog.SkipError{Reason: filterlog.ReasonTooLong}

// server is a bound syslog listener.
type server interface {
	serve(ctx context.Context)
}

// bind opens every syslog endpoint. On an error it closes the ones already
// open.
func (s *Source) bind(ctx context.Context) ([]server, error) {
	var lc net.ListenConfig
	var servers []server
	var closers []io.Closer
	fail := func(e Endpoint, err error) ([]server, error) {
		for _, c := range closers {
			c.Close()
		}
		for _, in := range s.servers {
			in.setListening("", false)
		}
		return nil, fmt.Errorf("listening for syslog on %s: %w", e, err)
	}

	for i, e := range s.endpoints {
		in := s.servers[i]
		switch e.Network {
		case "udp":
			conn, err := lc.ListenPacket(ctx, "udp", e.Address)
			if err != nil {
				return fail(e, err)
			}
			closers = append(closers, conn)
			if uc, ok := conn.(*net.UDPConn); ok {
				if err := uc.SetReadBuffer(udpReadBuffer); err != nil {
					s.log.Debug("setting the UDP receive buffer", "addr", conn.LocalAddr().String(), "err", err)
				}
			}
			in.setListening(conn.LocalAddr().String(), true)
			servers = append(servers, &udpServer{s: s, in: in, conn: conn})
		case "tcp":
			ln, err := lc.Listen(ctx, "tcp", e.Address)
			if err != nil {
				return fail(e, err)
			}
			closers = append(closers, ln)
			in.setListening(ln.Addr().String(), true)
			servers = append(servers, &tcpServer{
				s:        s,
				in:       in,
				ln:       ln,
				slots:    make(chan struct{}, s.opts.MaxConnections),
				rejected: logLimiter{interval: logInterval},
				dropped:  logLimiter{interval: logInterval},
			})
		}
	}
	return servers, nil
}

// udpServer reads one syslog message per datagram.
type udpServer struct {
	s    *Source
	in   *input
	conn net.PacketConn
}

func (u *udpServer) serve(ctx context.Context) {
	stop := context.AfterFunc(ctx, func() { u.conn.Close() })
	defer stop()
	defer u.in.setListening(u.conn.LocalAddr().String(), false)

	lp := u.s.newLineParser()
	// One byte more than the longest message the parser reads shows that
	// a datagram is longer.
	buf := make([]byte, max(filterlog.MaxLineLength+1, maxDatagram))
	limiter := logLimiter{interval: logInterval}
	for {
		n, peer, err := u.conn.ReadFrom(buf)
		if n > 0 {
			u.message(lp, buf[:n])
		}
		if err == nil {
			continue
		}
		if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
			return
		}
		if ok, suppressed := limiter.allow(); ok {
			u.s.log.Debug("reading a syslog datagram", "addr", u.in.status().Addr, "peer", fmt.Sprint(peer), "err", err, "suppressed", suppressed)
		}
		// A pause keeps an error that repeats from spinning a core.
		select {
		case <-time.After(10 * time.Millisecond):
		case <-ctx.Done():
		}
	}
}

// message handles one datagram. Senders often end a datagram with a line
// ending or a NUL although it carries one message.
func (u *udpServer) message(lp *lineParser, msg []byte) {
	msg = bytes.TrimRight(msg, "\r\n\x00")
	if len(msg) == 0 {
		return
	}
	if len(msg) > filterlog.MaxLineLength {
		u.s.record(u.in, nil, errTooLong)
		return
	}
	u.s.handle(lp, u.in, msg)
}

// tcpServer accepts syslog connections, at most cap(slots) at a time.
type tcpServer struct {
	s     *Source
	in    *input
	ln    net.Listener
	slots chan struct{}

	rejected logLimiter
	dropped  logLimiter
}

func (t *tcpServer) serve(ctx context.Context) {
	stop := context.AfterFunc(ctx, func() { t.ln.Close() })
	defer stop()

	var conns sync.WaitGroup
	defer conns.Wait()
	defer t.in.setListening(t.ln.Addr().String(), false)

	var backoff time.Duration
	for {
		conn, err := t.ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Running out of file descriptors is the usual cause, so
			// waiting lets connections close before the next try. Only the
			// first failure of a run is logged.
			if backoff == 0 {
				t.s.log.Warn("accepting a syslog connection failed; retrying", "addr", t.ln.Addr().String(), "err", err)
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
			}
			continue
		}
		backoff = 0

		select {
		case t.slots <- struct{}{}:
		default:
			if ok, suppressed := t.rejected.allow(); ok {
				t.s.log.Warn("too many syslog connections; closing the new one", "addr", t.ln.Addr().String(),
					"peer", conn.RemoteAddr().String(), "max_connections", cap(t.slots), "suppressed", suppressed)
			}
			conn.Close()
			continue
		}
		conns.Go(func() {
			defer func() { <-t.slots }()
			t.handle(ctx, conn)
		})
	}
}

// handle reads messages from one connection until it ends, idles out, or
// breaks the framing.
func (t *tcpServer) handle(ctx context.Context, conn net.Conn) {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	t.in.connections.Add(1)
	defer t.in.connections.Add(-1)

	peer := conn.RemoteAddr().String()
	t.s.log.Debug("syslog connection opened", "peer", peer)
	frames := NewFrameReader(&idleReader{conn: conn, timeout: t.s.opts.IdleTimeout}, filterlog.MaxLineLength)
	for {
		msg, err := frames.Next()
		switch {
		case err == nil:
			t.s.handleShared(t.in, msg)
			continue
		case errors.Is(err, ErrMessageTooLong):
			t.s.record(t.in, nil, errTooLong)
			continue
		}

		switch {
		case errors.Is(err, io.EOF), ctx.Err() != nil:
			t.s.log.Debug("syslog connection closed", "peer", peer)
		case errors.Is(err, os.ErrDeadlineExceeded):
			t.s.log.Debug("syslog connection idle; closing it", "peer", peer, "idle_timeout", t.s.opts.IdleTimeout)
		case errors.Is(err, ErrFrameTooLarge), errors.Is(err, io.ErrUnexpectedEOF):
			if ok, suppressed := t.dropped.allow(); ok {
				t.s.log.Warn("invalid syslog framing; closing the connection", "peer", peer, "err", err, "suppressed", suppressed)
			}
		default:
			t.s.log.Debug("reading a syslog connection", "peer", peer, "err", err)
		}
		return
	}
}

// idleReader extends the read deadline before every read, so a connection
// stays open while it sends and closes after timeout of silence.
type idleReader struct {
	conn    net.Conn
	timeout time.Duration
}

func (r *idleReader) Read(p []byte) (int, error) {
	if err := r.conn.SetReadDeadline(time.Now().Add(r.timeout)); err != nil {
		return 0, err
	}
	return r.conn.Read(p)
}

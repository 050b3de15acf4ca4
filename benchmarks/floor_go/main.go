// Command floor_go is benchmarks/floor.py in Go: the "minimal Go SMSC that does only the protocol work".
//
// The issue quotes it at 3-6 ms of CPU per 1,000 messages; this makes that figure one the bench can
// measure on this machine, in turns with carrier-sim and with the Python floor:
//
//	(cd benchmarks/floor_go && go build -o /tmp/floor_go .)
//	python -m benchmarks run --versus 'python -m benchmarks.external --exec "/tmp/floor_go -port {port}"'
//
// Per message it does what floor.py does, the same way: frame the submit_sm from a buffered read, read
// its addresses, registered_delivery and text, issue a hex id, answer, and when the receipt is due
// write a deliver_sm receipt (the standard text, receipted_message_id and message_state TLVs) within a
// deliver window of -window, then match its deliver_sm_resp. A connection writes once per read
// (everything that read produced), and one timer per connection sends its due receipts together. No
// store, scenario, metrics, history, limits or faults.
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	resp            = 0x80000000
	bindReceiver    = 0x01
	bindTransmitter = 0x02
	bindTransceiver = 0x09
	submitSm        = 0x04
	deliverSm       = 0x05
	unbind          = 0x06
	enquireLink     = 0x15
	genericNack     = resp

	statusInvalidLength = 0x02
	statusInvalidCmd    = 0x03
	statusNotBound      = 0x04

	tagInterfaceVersion = 0x0210
	tagReceiptedID      = 0x001E
	tagMessageState     = 0x0427
)

var nextID atomic.Uint64

type receipt struct {
	due                     time.Time
	submitted               time.Time
	id, source, destination []byte
	text                    []byte
}

// conn is one bind: its reader frames and answers PDUs, its timer sends the receipts that fall due.
type conn struct {
	net     net.Conn
	delay   time.Duration
	window  int
	mu      sync.Mutex // guards everything below: the reader and the timer both write
	out     []byte
	bound   bool
	closed  bool
	seq     uint32
	pending []receipt       // queued, in due order (one delay for all)
	held    [][]byte        // due, waiting for room in the deliver window
	flight  map[uint32]bool // deliver_sm not yet answered
	timer   *time.Timer
	dates   receiptDates
}

// receiptDates formats YYMMDDhhmm once a minute, as floor.py does: receipts quote minutes.
type receiptDates struct {
	minute int64
	text   string
}

func (d *receiptDates) format(t time.Time) string {
	if minute := t.Unix() / 60; minute != d.minute || d.text == "" {
		d.minute, d.text = minute, t.UTC().Format("0601021504")
	}
	return d.text
}

func (c *conn) pdu(command, status, sequence uint32, body ...[]byte) {
	length := 16
	for _, part := range body {
		length += len(part)
	}
	var header [16]byte
	binary.BigEndian.PutUint32(header[0:], uint32(length))
	binary.BigEndian.PutUint32(header[4:], command)
	binary.BigEndian.PutUint32(header[8:], status)
	binary.BigEndian.PutUint32(header[12:], sequence)
	c.out = append(c.out, header[:]...)
	for _, part := range body {
		c.out = append(c.out, part...)
	}
}

// flush writes what is waiting; called with mu held.
func (c *conn) flush() {
	if len(c.out) > 0 && !c.closed {
		if _, err := c.net.Write(c.out); err != nil {
			c.closed = true
		}
	}
	c.out = c.out[:0]
}

func (c *conn) handle(command, sequence uint32, body []byte) (stop bool) {
	switch command {
	case submitSm:
		c.submit(sequence, body)
	case deliverSm | resp:
		if !c.flight[sequence] {
			return false
		}
		delete(c.flight, sequence)
		for len(c.held) > 0 && len(c.flight) < c.window {
			c.sendDeliverSm(c.held[0])
			c.held = c.held[1:]
		}
	case enquireLink:
		c.pdu(enquireLink|resp, 0, sequence)
	case bindTransceiver, bindTransmitter, bindReceiver:
		c.bound = true
		c.pdu(command|resp, 0, sequence, []byte("floor\x00"), []byte{0x02, 0x10, 0x00, 0x01, 0x34})
	case unbind:
		c.pdu(unbind|resp, 0, sequence)
		return true
	default:
		if command&resp == 0 {
			c.pdu(genericNack, statusInvalidCmd, sequence)
		}
	}
	return false
}

func indexZero(body []byte, from int) int {
	for i := from; i < len(body); i++ {
		if body[i] == 0 {
			return i
		}
	}
	return -1
}

func (c *conn) submit(sequence uint32, body []byte) {
	if !c.bound {
		c.pdu(submitSm|resp, statusNotBound, sequence)
		return
	}
	field := func(from int) (int, bool) { end := indexZero(body, from); return end, end >= 0 }
	end, ok := field(0) // service_type
	var source, destination []byte
	if ok {
		start := end + 3 // source ton, npi
		if end, ok = field(start); ok {
			source = body[start:end]
			start = end + 3 // destination ton, npi
			if end, ok = field(start); ok {
				destination = body[start:end]
				// esm_class, protocol_id, priority_flag; then schedule_delivery_time and validity_period
				if end, ok = field(end + 4); ok {
					end, ok = field(end + 1)
				}
			}
		}
	}
	pos := end + 1 // registered_delivery
	if !ok || pos+4 >= len(body) {
		c.pdu(genericNack, statusInvalidLength, sequence)
		return
	}
	registered := body[pos]
	length := int(body[pos+4]) // after replace_if_present, data_coding, sm_default_msg_id
	text := body[min(pos+5, len(body)):min(pos+5+length, len(body))]
	id := []byte(strconv.FormatUint(nextID.Add(1), 16))
	c.pdu(submitSm|resp, 0, sequence, id, []byte{0})
	if registered&0x03 != 0 {
		if len(text) > 20 {
			text = text[:20]
		}
		now := time.Now()
		// The body is reused by the next read: keep copies.
		c.pending = append(c.pending, receipt{now.Add(c.delay), now, id,
			append([]byte(nil), source...), append([]byte(nil), destination...), append([]byte(nil), text...)})
		if c.timer == nil {
			c.timer = time.AfterFunc(c.delay, c.fire)
		}
	}
}

func (c *conn) fire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	done := c.dates.format(now)
	i := 0
	for ; i < len(c.pending) && !c.pending[i].due.After(now); i++ {
		r := c.pending[i]
		text := fmt.Sprintf("id:%s sub:001 dlvrd:001 submit date:%s done date:%s stat:DELIVRD err:000 text:%s",
			r.id, c.dates.format(r.submitted), done, r.text)
		if len(text) > 254 {
			text = text[:254]
		}
		var body []byte
		body = append(body, 0, 0, 0)
		body = append(body, r.destination...) // from the handset back to the sender
		body = append(body, 0, 0, 0)
		body = append(body, r.source...)
		body = append(body, 0, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, byte(len(text)))
		body = append(body, text...)
		body = append(body, byte(tagReceiptedID>>8), byte(tagReceiptedID&0xFF), 0, byte(len(r.id)+1))
		body = append(body, r.id...)
		body = append(body, 0, byte(tagMessageState>>8), byte(tagMessageState&0xFF), 0, 1, 2) // message_state DELIVERED
		if len(c.flight) < c.window {
			c.sendDeliverSm(body)
		} else {
			c.held = append(c.held, body)
		}
	}
	c.pending = c.pending[i:]
	c.flush()
	if len(c.pending) > 0 && !c.closed {
		// 1 ms resolution, as carrier-sim's scheduler and floor.py: receipts due together go out together.
		wait := time.Until(c.pending[0].due)
		if wait < time.Millisecond {
			wait = time.Millisecond
		}
		c.timer = time.AfterFunc(wait, c.fire)
	} else {
		c.timer = nil
	}
}

func (c *conn) sendDeliverSm(body []byte) {
	c.seq++
	if c.seq > 0x7FFFFFFF {
		c.seq = 1
	}
	c.flight[c.seq] = true
	c.pdu(deliverSm, 0, c.seq, body)
}

func serve(raw net.Conn, delay time.Duration, window int) {
	c := &conn{net: raw, delay: delay, window: window, flight: map[uint32]bool{}}
	defer func() {
		c.mu.Lock()
		c.closed = true
		if c.timer != nil {
			c.timer.Stop()
		}
		c.mu.Unlock()
		raw.Close()
	}()
	reader := bufio.NewReaderSize(raw, 64*1024)
	header := make([]byte, 16)
	body := make([]byte, 0, 4096)
	for {
		if _, err := io.ReadFull(reader, header); err != nil {
			return
		}
		length := binary.BigEndian.Uint32(header[0:])
		command := binary.BigEndian.Uint32(header[4:])
		sequence := binary.BigEndian.Uint32(header[12:])
		if length < 16 || length > 64*1024 {
			c.mu.Lock()
			c.pdu(genericNack, statusInvalidLength, sequence)
			c.flush()
			c.mu.Unlock()
			return
		}
		body = body[:length-16]
		if _, err := io.ReadFull(reader, body); err != nil {
			return
		}
		c.mu.Lock()
		stop := c.handle(command, sequence, body)
		if stop || !whole(reader) { // the read is used up: answer everything it brought at once
			c.flush()
		}
		c.mu.Unlock()
		if stop {
			return
		}
	}
}

// whole tells whether the reader's buffer holds the next PDU whole, so reading it will not block.
func whole(reader *bufio.Reader) bool {
	if reader.Buffered() < 16 {
		return false
	}
	head, _ := reader.Peek(4)
	return reader.Buffered() >= int(binary.BigEndian.Uint32(head))
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}

func main() {
	port := flag.Int("port", 2775, "SMPP port on 127.0.0.1 (0: any free port)")
	delay := flag.Duration("delay", 2*time.Second, "receipt delay")
	window := flag.Int("window", 10, "deliver_sm unanswered per bind")
	flag.Parse()
	listener, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor_go:", err)
		os.Exit(1)
	}
	fmt.Printf("smpp     smpp://%s  (floor_go: protocol only)\n", listener.Addr())
	fmt.Println("accounts open: any system_id and password bind")
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		os.Exit(0)
	}()
	for {
		raw, err := listener.Accept()
		if err != nil {
			return
		}
		go serve(raw, *delay, *window)
	}
}

// Package bufpool lends the buffers that responses are written into before
// they are sent (the API's and SCIM's JSON, the console's pages): a page of
// users is tens of kilobytes, which each response would otherwise allocate,
// and grow by copying, afresh.
package bufpool

import (
	"bytes"
	"sync"
)

// maxKept is the largest buffer kept for another response, so that one
// large response does not hold its memory for good.
const maxKept = 256 << 10

var pool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Get returns an empty buffer. Give it back with Put once nothing refers to
// its bytes any more.
func Get() *bytes.Buffer {
	return pool.Get().(*bytes.Buffer)
}

// Put gives buf back for another response to use.
func Put(buf *bytes.Buffer) {
	if buf.Cap() > maxKept {
		return
	}
	buf.Reset()
	pool.Put(buf)
}

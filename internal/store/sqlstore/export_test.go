package sqlstore

// SetSelectiveLimit changes how few matches make FindUsers start from them,
// so that a small fixture takes every query shape, and returns a function
// that restores it.
func SetSelectiveLimit(n int) (restore func()) {
	old := selectiveLimit
	selectiveLimit = n
	return func() { selectiveLimit = old }
}

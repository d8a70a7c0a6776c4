package sqlite

// SetWALRestartPages sets walRestartPages for the stores opened until
// restore is called.
func SetWALRestartPages(n int) (restore func()) {
	old := walRestartPages
	walRestartPages = n
	return func() { walRestartPages = old }
}

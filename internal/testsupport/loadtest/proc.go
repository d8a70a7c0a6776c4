package loadtest

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// sampler watches a process's resident memory and CPU time through /proc.
type sampler struct {
	pid      int
	done     chan struct{}
	peak     chan float64
	startCPU float64
}

func startSampler(pid int) *sampler {
	s := &sampler{pid: pid, done: make(chan struct{}), peak: make(chan float64, 1)}
	if pid == 0 {
		s.peak <- 0
		return s
	}
	s.startCPU = cpuSeconds(pid)
	go func() {
		var peak float64
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			peak = max(peak, rssMiB(pid))
			select {
			case <-s.done:
				s.peak <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// stop returns the peak RSS in MiB and the CPU seconds used since start.
func (s *sampler) stop() (float64, float64) {
	close(s.done)
	peak := <-s.peak
	if s.pid == 0 {
		return 0, 0
	}
	return peak, cpuSeconds(s.pid) - s.startCPU
}

// rssMiB reads VmRSS from /proc/PID/status.
func rssMiB(pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// cpuSeconds reads user plus system time from /proc/PID/stat, in clock
// ticks of 1/100 s (Linux's USER_HZ).
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces; fields resume after its ')'.
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100
}

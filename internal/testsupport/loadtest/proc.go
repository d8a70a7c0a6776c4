package loadtest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// sampler watches a process's resident memory and CPU time through /proc,
// the CPU time of the PostgreSQL backends that serve it, and this
// program's own.
type sampler struct {
	pid      int
	done     chan struct{}
	peak     chan float64
	startCPU float64
	selfCPU  float64
	backends *backendsCPU
}

// usage is what a sampler measured.
type usage struct {
	peakRSS                   float64 // MiB
	cpu, backendsCPU, selfCPU float64 // seconds
}

func startSampler(pid int) *sampler {
	s := &sampler{pid: pid, done: make(chan struct{}), peak: make(chan float64, 1)}
	if pid == 0 {
		s.peak <- 0
		return s
	}
	s.startCPU, s.selfCPU, s.backends = cpuSeconds(pid), cpuSeconds(os.Getpid()), newBackendsCPU(pid)
	go func() {
		var peak float64
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		found := time.Now()
		for {
			peak = max(peak, rssMiB(pid))
			if time.Since(found) >= findBackendsEvery {
				s.backends.find()
				found = time.Now()
			}
			s.backends.sample()
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

// stop returns the peak RSS and the CPU time used since start.
func (s *sampler) stop() usage {
	close(s.done)
	peak := <-s.peak
	if s.pid == 0 {
		return usage{}
	}
	s.backends.find()
	s.backends.sample()
	return usage{peakRSS: peak, cpu: cpuSeconds(s.pid) - s.startCPU, backendsCPU: s.backends.seconds(),
		selfCPU: cpuSeconds(os.Getpid()) - s.selfCPU}
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
// ticks of 1/100 s (Linux's USER_HZ); 0 if the process is gone.
func cpuSeconds(pid int) float64 {
	cpu, _ := processCPU(pid)
	return cpu
}

// processCPU is cpuSeconds, and whether the process could be read.
func processCPU(pid int) (float64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name may hold spaces; fields resume after its ')'.
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(fields) < 13 {
		return 0, false
	}
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100, true
}

// findBackendsEvery is how often the sampler looks for the backends
// serving the server. Looking is costly (it reads the kernel's whole TCP
// table, /proc/net/tcp, and every process's title): done at each 50 ms
// tick, it took a quarter of this program's CPU, which the server on the
// same cores then lacked. The server's pool keeps its connections, so
// backends rarely come and go; their CPU time is still read at each tick.
const findBackendsEvery = time.Second

// backendsCPU follows the CPU time of the PostgreSQL backends that serve a
// process's connections: those whose process title ("postgres: … user db
// 127.0.0.1(PORT) state") names a port the process connects from. Other
// clients of the same server (tests, other programs) are not counted.
type backendsCPU struct {
	pid   int
	first map[int]float64 // each backend's CPU seconds when first seen (0 if it started during the phase)
	last  map[int]float64
}

func newBackendsCPU(pid int) *backendsCPU {
	b := &backendsCPU{pid: pid, first: map[int]float64{}, last: map[int]float64{}}
	for _, backend := range findBackends(pid) {
		cpu := cpuSeconds(backend)
		b.first[backend], b.last[backend] = cpu, cpu
	}
	return b
}

// find adds the backends that began serving b.pid since the last look,
// counted from 0: all their CPU time is the phase's.
func (b *backendsCPU) find() {
	for _, backend := range findBackends(b.pid) {
		if _, ok := b.first[backend]; !ok {
			b.first[backend] = 0
			b.last[backend] = 0
		}
	}
}

// sample notes the known backends' CPU time now; one that has ended keeps
// its last.
func (b *backendsCPU) sample() {
	for backend := range b.last {
		if cpu, ok := processCPU(backend); ok {
			b.last[backend] = cpu
		}
	}
}

// seconds is the CPU time the backends used between the first sample and
// the last.
func (b *backendsCPU) seconds() float64 {
	var sum float64
	for backend, cpu := range b.last {
		sum += cpu - b.first[backend]
	}
	return sum
}

// findBackends returns the PostgreSQL backends serving pid now.
func findBackends(pid int) []int {
	ports := clientPorts(pid)
	if len(ports) == 0 {
		return nil
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var backends []int
	for _, e := range entries {
		backend, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		title, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", backend))
		if err != nil || !bytes.HasPrefix(title, []byte("postgres: ")) {
			continue
		}
		open := bytes.LastIndexByte(title, '(')
		end := bytes.LastIndexByte(title, ')')
		if open < 0 || end < open {
			continue
		}
		if port, err := strconv.Atoi(string(title[open+1 : end])); err == nil && ports[port] {
			backends = append(backends, backend)
		}
	}
	return backends
}

// clientPorts are the local TCP ports of pid's sockets: its sockets'
// inodes (from /proc/PID/fd) looked up in /proc/net/tcp and tcp6.
func clientPorts(pid int) map[int]bool {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return nil
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if inode, ok := strings.CutPrefix(link, "socket:["); err == nil && ok {
			inodes[strings.TrimSuffix(inode, "]")] = true
		}
	}
	ports := map[int]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			f := strings.Fields(line)
			if len(f) < 10 || !inodes[f[9]] {
				continue
			}
			_, hexPort, _ := strings.Cut(f[1], ":")
			if port, err := strconv.ParseInt(hexPort, 16, 32); err == nil {
				ports[int(port)] = true
			}
		}
	}
	return ports
}

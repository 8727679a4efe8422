package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// cpuTimes are a process's user and system CPU time, from /proc.
type cpuTimes struct{ user, sys time.Duration }

func (a cpuTimes) sub(b cpuTimes) cpuTimes { return cpuTimes{a.user - b.user, a.sys - b.sys} }

func (a cpuTimes) total() time.Duration { return a.user + a.sys }

// clockTick is USER_HZ, which Linux fixes at 100 for /proc's times.
const clockTick = 10 * time.Millisecond

// processCPU reads utime and stime of a process (pid 0: this one) from
// /proc/PID/stat; zero where /proc is missing.
func processCPU(pid int) cpuTimes {
	name := "/proc/self/stat"
	if pid != 0 {
		name = fmt.Sprintf("/proc/%d/stat", pid)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return cpuTimes{}
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return cpuTimes{}
	}
	// After the name: state is f[0], utime (field 14) f[11], stime f[12].
	user, _ := strconv.ParseInt(f[11], 10, 64)
	sys, _ := strconv.ParseInt(f[12], 10, 64)
	return cpuTimes{time.Duration(user) * clockTick, time.Duration(sys) * clockTick}
}

// databaseCPU sums the CPU time of this machine's PostgreSQL server
// processes, which do a PostgreSQL store's work outside its process; zero
// where there are none. Other clients of the same server count too.
func databaseCPU() cpuTimes {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return cpuTimes{}
	}
	var sum cpuTimes
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil || strings.TrimSpace(string(comm)) != "postgres" {
			continue
		}
		c := processCPU(pid)
		sum.user += c.user
		sum.sys += c.sys
	}
	return sum
}

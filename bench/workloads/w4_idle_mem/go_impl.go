// W4 idle-mem, Go: N goroutines each parked receiving on its own unbuffered channel.
// RSS (VmRSS from /proc/self/status) is read after runtime.GC() before the
// channels are made and again once every goroutine is parked; the
// difference / N is reported. Release: close each channel; join: WaitGroup.
// One measurement per process.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func rss() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "VmRSS:") {
			kb, err := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			if err != nil {
				panic(err)
			}
			return kb * 1024
		}
	}
	panic("no VmRSS line in /proc/self/status")
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "W4 go: WRONG RESULT: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	n := flag.Int("n", 100000, "goroutines")
	flag.Parse()
	var started, exited int64
	var wg sync.WaitGroup
	runtime.GC()
	rss0 := rss()
	chans := make([]chan int, *n)
	for i := range chans {
		chans[i] = make(chan int)
	}
	wg.Add(*n)
	for _, ch := range chans {
		go func(ch chan int) {
			atomic.AddInt64(&started, 1)
			if _, ok := <-ch; ok {
				fail("received from a channel nobody sends on")
			}
			atomic.AddInt64(&exited, 1)
			wg.Done()
		}(ch)
	}
	for atomic.LoadInt64(&started) < int64(*n) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	rss1 := rss()
	if alive := runtime.NumGoroutine(); alive != *n+1 {
		fail("%d goroutines alive while parked, want %d", alive, *n+1)
	}
	for _, ch := range chans {
		close(ch)
	}
	wg.Wait()
	if exited != int64(*n) {
		fail("%d goroutines finished, want %d", exited, *n)
	}
	fmt.Printf("W4 go %d per_parked=%.1f bytes\n", *n, float64(rss1-rss0)/float64(*n))
}

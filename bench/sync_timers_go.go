// The Go side of bench/sync_timers.py: the same loops, so that its rows can
// show a ratio to Go. Prints one JSON object of ns/op (medians are taken by
// the caller over processes; each figure here is the best of -reps runs).
//
//	go build -o /tmp/sync_timers_go bench/sync_timers_go.go
//	GOMAXPROCS=1 /tmp/sync_timers_go -n 200000
//
// Figures (the names are the keys sync_timers.py reads):
//
//	mutex            Lock()+Unlock(), uncontended
//	mutex_contended  8 goroutines, each Lock, count++, runtime.Gosched, Unlock
//	gosched          the same loop without the mutex (the baseline)
//	timer_stop       time.NewTimer(10 s) then Stop()
//	sleep_late_p50   lateness of time.Sleep(1 ms) (its p50 and p99 over
//	sleep_late_p99   -samples sleeps), in ns; idle otherwise
//
// (Not time.Sleep(1 µs) in a loop: Go 1.19's timers wait in epoll_wait,
// whose timeout is in milliseconds, so such a sleep takes ~1 ms there.)
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"sync"
	"time"
)

func best(reps int, f func() float64) float64 {
	b := f()
	for i := 1; i < reps; i++ {
		if v := f(); v < b {
			b = v
		}
	}
	return b
}

func perOp(n int, t0 time.Time) float64 {
	return float64(time.Since(t0).Nanoseconds()) / float64(n)
}

func main() {
	n := flag.Int("n", 200000, "operations per figure")
	reps := flag.Int("reps", 3, "repetitions; the best is reported")
	samples := flag.Int("samples", 1000, "sleeps whose lateness is measured")
	flag.Parse()
	const workers = 8
	out := map[string]float64{}

	out["mutex"] = best(*reps, func() float64 {
		var mu sync.Mutex
		t0 := time.Now()
		for i := 0; i < *n; i++ {
			mu.Lock()
			mu.Unlock()
		}
		return perOp(*n, t0)
	})

	contended := func(lock bool) float64 {
		var mu sync.Mutex
		var wg sync.WaitGroup
		per := *n / workers
		count := 0
		t0 := time.Now()
		wg.Add(workers)
		for w := 0; w < workers; w++ {
			go func() {
				for i := 0; i < per; i++ {
					if lock {
						mu.Lock()
						count++
						runtime.Gosched()
						mu.Unlock()
					} else {
						runtime.Gosched()
					}
				}
				wg.Done()
			}()
		}
		wg.Wait()
		if lock && count != per*workers {
			fmt.Fprintf(os.Stderr, "sync_timers go: WRONG RESULT: count %d, want %d\n", count, per*workers)
			os.Exit(1)
		}
		return perOp(per*workers, t0)
	}
	out["mutex_contended"] = best(*reps, func() float64 { return contended(true) })
	out["gosched"] = best(*reps, func() float64 { return contended(false) })

	out["timer_stop"] = best(*reps, func() float64 {
		t0 := time.Now()
		for i := 0; i < *n; i++ {
			t := time.NewTimer(10 * time.Second)
			t.Stop()
		}
		return perOp(*n, t0)
	})

	lat := make([]float64, *samples)
	for i := range lat {
		t0 := time.Now()
		time.Sleep(time.Millisecond)
		lat[i] = float64((time.Since(t0) - time.Millisecond).Nanoseconds())
	}
	sort.Float64s(lat)
	out["sleep_late_p50"] = lat[len(lat)*50/100]
	out["sleep_late_p99"] = lat[len(lat)*99/100]

	b, _ := json.Marshal(out)
	fmt.Println(string(b))
}

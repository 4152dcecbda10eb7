// W5 select, Go: 4 producers on their own unbuffered channel; one consumer's
// 4-way select until all four are closed (a closed channel is set to nil).
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

func producer(ch chan<- int, lo, hi int) {
	for i := lo; i < hi; i++ {
		ch <- i
	}
	close(ch)
}

func main() {
	n := flag.Int("n", 200000, "messages (a multiple of 4)")
	reps := flag.Int("reps", 3, "repetitions; the best is reported")
	flag.Parse()
	if *n%4 != 0 {
		fmt.Fprintf(os.Stderr, "W5 go: WRONG RESULT: N=%d is not a multiple of 4\n", *n)
		os.Exit(1)
	}
	q := *n / 4
	best := time.Duration(1<<63 - 1)
	for r := 0; r < *reps; r++ {
		var c [4]chan int
		for k := range c {
			c[k] = make(chan int)
		}
		t0 := time.Now()
		for k := range c {
			go producer(c[k], k*q, (k+1)*q)
		}
		live, total, count := 4, 0, 0
		for live > 0 {
			var v int
			var ok bool
			var k int
			select {
			case v, ok = <-c[0]:
				k = 0
			case v, ok = <-c[1]:
				k = 1
			case v, ok = <-c[2]:
				k = 2
			case v, ok = <-c[3]:
				k = 3
			}
			if !ok {
				c[k] = nil
				live--
				continue
			}
			total += v
			count++
		}
		dt := time.Since(t0)
		if count != *n || total != *n*(*n-1)/2 {
			fmt.Fprintf(os.Stderr, "W5 go: WRONG RESULT: got %d messages summing to %d\n", count, total)
			os.Exit(1)
		}
		if dt < best {
			best = dt
		}
	}
	fmt.Printf("W5 go %d per_message=%.1f ns\n", *n, float64(best.Nanoseconds())/float64(*n))
}

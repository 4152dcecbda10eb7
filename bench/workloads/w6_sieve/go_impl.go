// W6 sieve, Go: the classic concurrent prime sieve (golang.org/doc/play/sieve.go shape),
// first N primes; the chain is abandoned when main has them.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

func generate(ch chan<- int) {
	for i := 2; ; i++ {
		ch <- i
	}
}

func filter(in <-chan int, out chan<- int, prime int) {
	for {
		i := <-in
		if i%prime != 0 {
			out <- i
		}
	}
}

func nthPrime(k int) int {
	found, c := 0, 1
	for found < k {
		c++
		isPrime := true
		for d := 2; d*d <= c; d++ {
			if c%d == 0 {
				isPrime = false
				break
			}
		}
		if isPrime {
			found++
		}
	}
	return c
}

func main() {
	n := flag.Int("n", 2000, "primes")
	reps := flag.Int("reps", 3, "repetitions; the best is reported")
	flag.Parse()
	want := nthPrime(*n)
	if *n == 2000 && want != 17389 {
		panic("nthPrime is wrong")
	}
	best := time.Duration(1<<63 - 1)
	for r := 0; r < *reps; r++ {
		t0 := time.Now()
		ch := make(chan int)
		go generate(ch)
		prime := 0
		for i := 0; i < *n; i++ {
			prime = <-ch
			ch1 := make(chan int)
			go filter(ch, ch1, prime)
			ch = ch1
		}
		dt := time.Since(t0)
		if prime != want {
			fmt.Fprintf(os.Stderr, "W6 go: WRONG RESULT: prime #%d is %d, want %d\n", *n, prime, want)
			os.Exit(1)
		}
		if dt < best {
			best = dt
		}
	}
	fmt.Printf("W6 go %d total=%.1f ms\n", *n, float64(best.Nanoseconds())/1e6)
}

package wordcount

import (
	"bufio"
	"io"
	"sort"
	"strings"
	"unicode"
)

// Count holds a word and how often it occurred.
type Count struct {
	Word  string
	Times int
}

// TopWords reads text from r and returns the n most frequent words.
func TopWords(r io.Reader, n int) ([]Count, error) {
	counts := make(map[string]int)
	scanner := bufio.NewScanner(r)
	scanner.Split(bufio.ScanWords)
	for scanner.Scan() {
		word := strings.ToLower(strings.TrimFunc(scanner.Text(), func(c rune) bool {
			return !unicode.IsLetter(c) && !unicode.IsNumber(c)
		}))
		if word == "" {
			continue
		}
		counts[word]++
	}
	if err := scanner.Err(); err != nil {
		return nil, err
	}
	result := make([]Count, 0, len(counts))
	for word, times := range counts {
		result = append(result, Count{Word: word, Times: times})
	}
	sort.Slice(result, func(i, j int) bool {
		if result[i].Times != result[j].Times {
			return result[i].Times > result[j].Times
		}
		return result[i].Word < result[j].Word
	})
	if n < len(result) {
		result = result[:n]
	}
	return result, nil
}

package memory_test

import (
	"testing"

	"github.com/payrail/payments"
	"github.com/payrail/payments/store/memory"
	"github.com/payrail/payments/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) payments.Store { return memory.New() })
}

package gate_test

import (
	"testing"

	"github.com/payrail/payments/gate"
	"github.com/payrail/payments/gate/gatetest"
)

func TestMemoryConformance(t *testing.T) {
	gatetest.Run(t, func(*testing.T) gatetest.Stores {
		return gatetest.Stores{Merchants: gate.NewMemoryMerchants(), Records: gate.NewMemoryRecords()}
	})
}

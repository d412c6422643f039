export interface Order {
  id: string;
  customer: string;
  total: number;
  placedAt: Date;
}

export function groupBy<T, K extends string | number>(items: readonly T[], keyOf: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) {
      group.push(item);
    } else {
      groups.set(key, [item]);
    }
  }
  return groups;
}

export function topCustomers(orders: readonly Order[], limit: number): Array<{ customer: string; spent: number }> {
  const byCustomer = groupBy(orders, (order) => order.customer);
  const totals: Array<{ customer: string; spent: number }> = [];
  for (const [customer, customerOrders] of byCustomer) {
    let spent = 0;
    for (const order of customerOrders) {
      spent += order.total;
    }
    totals.push({ customer, spent });
  }
  totals.sort((a, b) => b.spent - a.spent || a.customer.localeCompare(b.customer));
  return totals.slice(0, limit);
}

export function ordersInMonth(orders: readonly Order[], year: number, month: number): Order[] {
  return orders.filter((order) => order.placedAt.getFullYear() === year && order.placedAt.getMonth() === month);
}

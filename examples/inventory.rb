# Tracks stock levels and reorders items that run low.
class Inventory
  Item = Struct.new(:sku, :name, :quantity, :reorder_level)

  def initialize
    @items = {}
    @log = []
  end

  def add(sku, name, quantity, reorder_level: 5)
    raise ArgumentError, "quantity must be positive" unless quantity.positive?

    if @items.key?(sku)
      @items[sku].quantity += quantity
    else
      @items[sku] = Item.new(sku, name, quantity, reorder_level)
    end
    @log << [:add, sku, quantity]
  end

  def remove(sku, quantity)
    item = @items.fetch(sku) { raise KeyError, "unknown sku #{sku}" }
    if item.quantity < quantity
      raise ArgumentError, "only #{item.quantity} left of #{item.name}"
    end

    item.quantity -= quantity
    @log << [:remove, sku, quantity]
    item
  end

  def low_stock
    @items.values.select { |item| item.quantity <= item.reorder_level }
  end

  def reorder_list(batch = 10)
    low_stock.map do |item|
      missing = item.reorder_level - item.quantity
      { sku: item.sku, order: [missing, 0].max + batch }
    end
  end
end

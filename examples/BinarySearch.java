import java.util.List;
import java.util.Objects;

public final class BinarySearch {
    private BinarySearch() {
    }

    /** Returns the index of the first element not less than target, or list.size(). */
    public static <T extends Comparable<? super T>> int lowerBound(List<T> list, T target) {
        Objects.requireNonNull(list, "list");
        int low = 0;
        int high = list.size();
        while (low < high) {
            int middle = (low + high) >>> 1;
            if (list.get(middle).compareTo(target) < 0) {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        return low;
    }

    public static <T extends Comparable<? super T>> boolean contains(List<T> list, T target) {
        int index = lowerBound(list, target);
        return index < list.size() && list.get(index).compareTo(target) == 0;
    }

    public static int countInRange(int[] sorted, int from, int to) {
        if (from > to) {
            throw new IllegalArgumentException("from must not exceed to");
        }
        int count = 0;
        for (int value : sorted) {
            if (value >= from && value <= to) {
                count++;
            } else if (value > to) {
                break;
            }
        }
        return count;
    }
}

// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title A binary min-heap of exit priorities, in storage
/// @notice `heap[0]` is unused so that the children of `i` are `2i` and `2i+1`; popping leaves the
///         array's storage slot in place (zeroed) rather than shrinking, so pushes reuse warm slots.
library ExitHeap {
    struct Heap {
        uint256[] items;
        uint256 size;
    }

    function top(Heap storage h) internal view returns (uint256) {
        return h.size == 0 ? type(uint256).max : h.items[1];
    }

    function push(Heap storage h, uint256 value) internal {
        if (h.items.length == 0) h.items.push(0);
        uint256 i = ++h.size;
        if (i == h.items.length) h.items.push(value);
        // Sift up: move parents down until `value`'s place is found, then write it once.
        while (i > 1) {
            uint256 parent = h.items[i >> 1];
            if (parent <= value) break;
            h.items[i] = parent;
            i >>= 1;
        }
        h.items[i] = value;
    }

    function pop(Heap storage h) internal returns (uint256 min) {
        uint256 n = h.size;
        min = h.items[1];
        uint256 last = h.items[n];
        h.items[n] = 0;
        h.size = --n;
        if (n == 0) return min;
        uint256 i = 1;
        while (true) {
            uint256 c = i << 1;
            if (c > n) break;
            uint256 child = h.items[c];
            if (c + 1 <= n) {
                uint256 right = h.items[c + 1];
                if (right < child) {
                    child = right;
                    c++;
                }
            }
            if (last <= child) break;
            h.items[i] = child;
            i = c;
        }
        h.items[i] = last;
    }
}

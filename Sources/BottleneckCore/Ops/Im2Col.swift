/// im2col and its adjoint col2im: moving pixels between NCHW images and the columns matrix
/// [channels * kh * kw, images * positions] whose entry (channel, ky, kx; image, oy, ox) is the
/// pixel under tap (ky, kx) of window (oy, ox), 0 in the padding.
///
/// Two ways, by measurement: with stride 1 each tap reads whole row segments (memcpy); with a
/// larger stride, short strided rows make per-row work dominate, so each plane is first copied
/// into a zero-padded buffer and every tap then reads fixed offsets from a table (no bounds tests).

/// Lays `images` consecutive NCHW images out as columns.
func im2col(_ src: UnsafePointer<Float>, images: Int, _ g: ConvGeometry, into cols: UnsafeMutablePointer<Float>) {
    if g.stride.w > 1 {
        PaddedTaps(g).im2col(src, images: images, into: cols)
    } else {
        im2colByRows(src, images: images, g, into: cols)
    }
}

/// Adds every column entry onto the pixel it was read from. `cols` is scratch: the entries that
/// fall in the padding may be overwritten.
func col2im(_ cols: UnsafeMutablePointer<Float>, images: Int, _ g: ConvGeometry, addingInto dst: UnsafeMutablePointer<Float>) {
    if g.stride.w > 1 {
        PaddedTaps(g).col2im(cols, images: images, addingInto: dst)
    } else {
        col2imByRows(cols, images: images, g, addingInto: dst)
    }
}

/// For each tap and position, the offset of the pixel it reads in a zero-padded copy of a plane.
private struct PaddedTaps {
    let g: ConvGeometry
    let paddedH: Int, paddedW: Int
    let offsets: [Int32]

    init(_ g: ConvGeometry) {
        self.g = g
        // Tall and wide enough for the image at (padBefore.h, padBefore.w) and for every tap.
        paddedH = Swift.max((g.outH - 1) * g.stride.h + (g.kernel.h - 1) * g.dilation.h + 1, g.height + g.padBefore.h)
        paddedW = Swift.max((g.outW - 1) * g.stride.w + (g.kernel.w - 1) * g.dilation.w + 1, g.width + g.padBefore.w)
        var offsets = [Int32]()
        offsets.reserveCapacity(g.kernel.h * g.kernel.w * g.positions)
        for ky in 0..<g.kernel.h {
            for kx in 0..<g.kernel.w {
                for oy in 0..<g.outH {
                    let row = (oy * g.stride.h + ky * g.dilation.h) * paddedW + kx * g.dilation.w
                    for ox in 0..<g.outW { offsets.append(Int32(row + ox * g.stride.w)) }
                }
            }
        }
        self.offsets = offsets
    }

    /// Where the image's pixel (0, 0) lies in the padded plane.
    var origin: Int { g.padBefore.h * paddedW + g.padBefore.w }

    func im2col(_ src: UnsafePointer<Float>, images: Int, into cols: UnsafeMutablePointer<Float>) {
        let positions = g.positions, rowLength = images * positions, taps = g.kernel.h * g.kernel.w
        let padded = UnsafeMutablePointer<Float>.allocate(capacity: paddedH * paddedW)
        defer { padded.deallocate() }
        padded.initialize(repeating: 0, count: paddedH * paddedW)  // the border stays 0 throughout
        offsets.withUnsafeBufferPointer { table in
            let table = table.baseAddress!
            for image in 0..<images {
                for c in 0..<g.channels {
                    let plane = src + (image * g.channels + c) * g.imageArea
                    for y in 0..<g.height {
                        (padded + origin + y * paddedW).update(from: plane + y * g.width, count: g.width)
                    }
                    for tap in 0..<taps {
                        let dst = cols + (c * taps + tap) * rowLength + image * positions, at = table + tap * positions
                        for p in 0..<positions { dst[p] = padded[Int(at[p])] }
                    }
                }
            }
        }
    }

    func col2im(_ cols: UnsafeMutablePointer<Float>, images: Int, addingInto dst: UnsafeMutablePointer<Float>) {
        let positions = g.positions, rowLength = images * positions, taps = g.kernel.h * g.kernel.w
        let padded = UnsafeMutablePointer<Float>.allocate(capacity: paddedH * paddedW)
        defer { padded.deallocate() }
        offsets.withUnsafeBufferPointer { table in
            let table = table.baseAddress!
            for image in 0..<images {
                for c in 0..<g.channels {
                    padded.update(repeating: 0, count: paddedH * paddedW)
                    for tap in 0..<taps {
                        let src = cols + (c * taps + tap) * rowLength + image * positions, at = table + tap * positions
                        for p in 0..<positions { padded[Int(at[p])] += src[p] }
                    }
                    let plane = dst + (image * g.channels + c) * g.imageArea
                    for y in 0..<g.height {
                        let from = padded + origin + y * paddedW, to = plane + y * g.width
                        for x in 0..<g.width { to[x] += from[x] }
                    }
                }
            }
        }
    }
}

/// im2col for a horizontal stride of 1, one tap block (all positions of one channel and tap) at a time.
private func im2colByRows(_ src: UnsafePointer<Float>, images: Int, _ g: ConvGeometry, into cols: UnsafeMutablePointer<Float>) {
    let positions = g.positions, rowLength = images * positions, outW = g.outW
    // With stride 1 and rows as long as the image's, a tap block is the plane shifted: one copy,
    // then the entries that wrapped around a row edge are zeroed.
    let flat = g.stride.h == 1 && outW == g.width
    for image in 0..<images {
        for c in 0..<g.channels {
            let plane = src + (image * g.channels + c) * g.imageArea
            for ky in 0..<g.kernel.h {
                let yOffset = ky * g.dilation.h - g.padBefore.h
                let (oy0, oy1) = ConvGeometry.validRange(offset: yOffset, stride: g.stride.h, length: g.height, positions: g.outH)
                for kx in 0..<g.kernel.w {
                    let xOffset = kx * g.dilation.w - g.padBefore.w
                    let (ox0, ox1) = ConvGeometry.validRange(offset: xOffset, stride: 1, length: g.width, positions: outW)
                    let block = cols + ((c * g.kernel.h + ky) * g.kernel.w + kx) * rowLength + image * positions
                    if flat {
                        let shift = yOffset * g.width + xOffset
                        let lo = Swift.min(Swift.max(oy0 * outW, -shift), positions)
                        let hi = Swift.max(lo, Swift.min(oy1 * outW, g.imageArea - shift))
                        block.update(repeating: 0, count: lo)
                        (block + lo).update(from: plane + lo + shift, count: hi - lo)
                        (block + hi).update(repeating: 0, count: positions - hi)
                        if ox0 > 0 || ox1 < outW {
                            for oy in oy0..<oy1 {
                                let row = block + oy * outW
                                for ox in 0..<ox0 { row[ox] = 0 }
                                for ox in ox1..<outW { row[ox] = 0 }
                            }
                        }
                        continue
                    }
                    block.update(repeating: 0, count: oy0 * outW)
                    for oy in oy0..<oy1 {
                        let dst = block + oy * outW
                        let srcRow = plane + (oy * g.stride.h + yOffset) * g.width + xOffset
                        for ox in 0..<ox0 { dst[ox] = 0 }
                        (dst + ox0).update(from: srcRow + ox0, count: ox1 - ox0)
                        for ox in ox1..<outW { dst[ox] = 0 }
                    }
                    (block + oy1 * outW).update(repeating: 0, count: (g.outH - oy1) * outW)
                }
            }
        }
    }
}

/// col2im for a horizontal stride of 1. Entries of `cols` that fall in the padding are set to 0.
private func col2imByRows(_ cols: UnsafeMutablePointer<Float>, images: Int, _ g: ConvGeometry, addingInto dst: UnsafeMutablePointer<Float>) {
    let positions = g.positions, rowLength = images * positions, outW = g.outW
    let flat = g.stride.h == 1 && outW == g.width
    for image in 0..<images {
        for c in 0..<g.channels {
            let plane = dst + (image * g.channels + c) * g.imageArea
            for ky in 0..<g.kernel.h {
                let yOffset = ky * g.dilation.h - g.padBefore.h
                let (oy0, oy1) = ConvGeometry.validRange(offset: yOffset, stride: g.stride.h, length: g.height, positions: g.outH)
                for kx in 0..<g.kernel.w {
                    let xOffset = kx * g.dilation.w - g.padBefore.w
                    let (ox0, ox1) = ConvGeometry.validRange(offset: xOffset, stride: 1, length: g.width, positions: outW)
                    let block = cols + ((c * g.kernel.h + ky) * g.kernel.w + kx) * rowLength + image * positions
                    if flat {
                        // Zero the entries that would wrap around a row edge, then add the block as one run.
                        if ox0 > 0 || ox1 < outW {
                            for oy in oy0..<oy1 {
                                let row = block + oy * outW
                                for ox in 0..<ox0 { row[ox] = 0 }
                                for ox in ox1..<outW { row[ox] = 0 }
                            }
                        }
                        let shift = yOffset * g.width + xOffset
                        let lo = Swift.max(oy0 * outW, -shift), hi = Swift.min(oy1 * outW, g.imageArea - shift)
                        let target = plane + shift
                        if lo < hi { for i in lo..<hi { target[i] += block[i] } }
                        continue
                    }
                    for oy in oy0..<oy1 {
                        let src = block + oy * outW
                        let dstRow = plane + (oy * g.stride.h + yOffset) * g.width + xOffset
                        for ox in ox0..<ox1 { dstRow[ox] += src[ox] }
                    }
                }
            }
        }
    }
}

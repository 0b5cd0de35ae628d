// PNG and JPEG decoding/encoding for Bottleneck. libpng and libjpeg report errors by longjmp,
// which Swift cannot catch, so each call sets its jump point here in C and returns an error code
// with a message instead: a corrupt file is an error, never a crash or an exit().
#ifndef BN_IMAGE_CODECS_H
#define BN_IMAGE_CODECS_H
#include <stddef.h>

/// Decodes a PNG held in memory to 8-bit gray (1 channel) or RGB (3 channels): palettes are
/// expanded, bit depths below 8 widened, 16-bit scaled to 8, alpha dropped, interlacing undone.
/// Returns 0 and a malloc'ed pixel buffer (rows top to bottom, interleaved) in *pixels, or
/// non-zero with a message. Free the pixels with bn_free.
int bn_png_decode(const unsigned char *data, size_t size, unsigned char **pixels,
                  int *width, int *height, int *channels, char *message, size_t message_size);

/// Encodes 8-bit gray (channels 1) or RGB (channels 3) pixels as PNG: 0 and a malloc'ed buffer
/// in *out, or non-zero with a message.
int bn_png_encode(const unsigned char *pixels, int width, int height, int channels,
                  unsigned char **out, size_t *out_size, char *message, size_t message_size);

/// Decodes a JPEG held in memory to gray (grayscale files) or RGB. Corrupt-data warnings
/// (truncated file, bad entropy data) count as errors. Same conventions as bn_png_decode.
int bn_jpeg_decode(const unsigned char *data, size_t size, unsigned char **pixels,
                   int *width, int *height, int *channels, char *message, size_t message_size);

/// Encodes 8-bit gray or RGB pixels as a baseline JPEG of the given quality (1...100).
int bn_jpeg_encode(const unsigned char *pixels, int width, int height, int channels, int quality,
                   unsigned char **out, size_t *out_size, char *message, size_t message_size);

void bn_free(void *pointer);

#endif
